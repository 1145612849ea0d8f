"""The crypto floor of one complete download: what no implementation of the SM-DP+ can skip.

Per download the SM-DP+ makes three ECDSA signatures (serverSignature1, smdpSignature2, the BPP's
smdpSign), four verifications (the eUICC certificate, euiccSignature1, euiccSignature2, the
installation result), one one-time key and one ECKA (the BPP's session keys), on the download's
curve; and one TLS handshake with the device (server side only), on the TLS certificate's curve.
Measured here with the same library calls, in one thread, as the CPU time of the best of a few
rounds: the figure the server's CPU per download is compared with.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

from openrsp.crypto.ecdsa import sign_plain, verify_plain
from openrsp.crypto.ecka import generate_one_time_key, shared_secret
from openrsp.crypto.keys import generate_private_key
from openrsp.pki.layout import PkiIndex
from openrsp.rspserver.tls import make_ssl_context
from openrsp.smdp.tlsfiles import PKI_TLS_CHAIN, PKI_TLS_KEY

SIGNATURES = 3
VERIFICATIONS = 4


def _best_ms(action: Any, count: int, rounds: int = 5) -> float:
    """CPU ms of one `action()`: the best round of `count` calls (the least disturbed by others)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time_ns()
        for _ in range(count):
            action()
        best = min(best, (time.thread_time_ns() - start) / count / 1e6)
    return best


def crypto_ms(curve: str, count: int = 40) -> dict[str, float]:
    """The SGP.22 cryptography of one download on `curve`, in ms of CPU."""
    key = generate_private_key(curve)
    peer = generate_private_key(curve).public_key()
    data = b"\x30" * 200
    signature = sign_plain(key, data)
    public = key.public_key()
    sign = _best_ms(lambda: sign_plain(key, data), count)
    verify = _best_ms(lambda: verify_plain(public, data, signature), count)
    ecka = _best_ms(lambda: shared_secret(generate_one_time_key(curve), peer), count)
    return {
        "sign_ms": round(sign, 4),
        "verify_ms": round(verify, 4),
        "one_time_key_and_ecka_ms": round(ecka, 4),
        "per_download_ms": round(SIGNATURES * sign + VERIFICATIONS * verify + ecka, 3),
    }


def tls_handshake_ms(pki_dir: Path, count: int = 40) -> float:
    """Server-side CPU ms of one full TLS handshake with the SM-DP+'s certificate (in memory)."""
    index = PkiIndex.read(pki_dir)
    # the SM-DP+'s own TLS settings (no session tickets)
    server_context = make_ssl_context(
        None, None, chain_file=str(pki_dir / PKI_TLS_CHAIN), key_file=str(pki_dir / PKI_TLS_KEY)
    )
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(pki_dir / index.tls_curve / "ci.cert.pem")
    host = index.smdp_host

    def handshake() -> int:
        """One handshake; the server side's CPU ns."""
        to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_context.wrap_bio(to_client, to_server, server_hostname=host)
        server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        server = server_context.wrap_bio(server_in, server_out, server_side=True)
        spent = 0
        client_done = server_done = False
        while not (client_done and server_done):
            if not client_done:
                try:
                    client.do_handshake()
                    client_done = True
                except ssl.SSLWantReadError:
                    pass
            server_in.write(to_server.read())
            start = time.thread_time_ns()
            if not server_done:
                try:
                    server.do_handshake()
                    server_done = True
                except ssl.SSLWantReadError:
                    pass
            spent += time.thread_time_ns() - start
            to_client.write(server_out.read())
        return spent

    best = float("inf")
    for _ in range(5):
        best = min(best, sum(handshake() for _ in range(count)) / count / 1e6)
    return round(best, 4)


def crypto_floor(pki_dir: Path, curves: tuple[str, ...]) -> dict[str, Any]:
    """Per curve: the crypto of a download, the TLS handshake, and their sum (the floor)."""
    tls = tls_handshake_ms(pki_dir)
    floor: dict[str, Any] = {}
    for curve in curves:
        crypto = crypto_ms(curve)
        floor[curve] = {
            **crypto,
            "tls_handshake_ms": tls,
            "floor_ms": round(crypto["per_download_ms"] + tls, 3),
        }
    return floor
