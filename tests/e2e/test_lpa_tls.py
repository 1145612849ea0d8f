"""HTTPS around ES9+: an SM-DP+ that wants LPA client certificates, and an HTTP CONNECT proxy between."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lpa_support import (
    SMDP_HOST,
    Smdp,
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa,
    lpa_ok,
    pki_fixture,  # noqa: F401 - fixture
)


@pytest.fixture(scope="module")
def strict_smdp(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smdp]:
    """An SM-DP+ that serves ES9+ only to LPAs with a certificate from the LPA TLS CA."""
    lpa_ca = pki / "lpa-tls" / "ca.cert.pem"
    server = Smdp(pki, tmp_path_factory.mktemp("strict") / "data", extra=("--lpa-ca", str(lpa_ca))).start()
    try:
        yield server
    finally:
        server.stop()


def client_cert(pki: Path) -> list[str]:
    return [
        "--client-cert",
        str(pki / "lpa-tls" / "client.cert.pem"),
        "--client-key",
        str(pki / "lpa-tls" / "client.key.pem"),
    ]


def test_lpa_client_certificate(strict_smdp, euicc, pki):
    iccid = strict_smdp.generate()
    code = strict_smdp.order(iccid)
    refused = lpa("--json", "profile", "download", "-a", code, "--yes", card=["--euicc", str(euicc)])
    assert refused.returncode == 1
    assert (
        refused.payload["details"]["subjectCode"] == "1.1"
        and refused.payload["details"]["reasonCode"] == "1.1"
    )
    assert installed_iccids(euicc) == []

    downloaded = lpa_ok(
        "--json", *client_cert(pki), "profile", "download", "-a", code, "--yes", card=["--euicc", str(euicc)]
    )
    assert downloaded.data["iccid"] == iccid
    assert strict_smdp.state(iccid) == "Installed"


class ConnectProxy:
    """A minimal HTTP CONNECT proxy that resolves the SM-DP+ name itself and logs each tunnel."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.tunnels: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            target = head.split(b"\r\n", 1)[0].split()[1].decode()  # CONNECT host:port HTTP/1.1
            self.tunnels.append(target)
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection(("127.0.0.1" if host == SMDP_HOST else host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                pair = {client: upstream, upstream: client}
                while True:
                    ready, _, _ = select.select(list(pair), [], [], 30)
                    if not ready:
                        return
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        pair[sock].sendall(data)

    def close(self) -> None:
        self.listener.close()


def test_through_a_connect_proxy(strict_smdp, euicc, pki):
    proxy = ConnectProxy()
    try:
        iccid = strict_smdp.generate()
        code = strict_smdp.order(iccid)
        args = ["--proxy", f"http://127.0.0.1:{proxy.port}", *client_cert(pki)]
        data = lpa_ok(
            "--json", *args, "profile", "download", "-a", code, "--yes", card=["--euicc", str(euicc)]
        ).data
    finally:
        proxy.close()
    assert data["iccid"] == iccid and data["notifications"][0]["delivered"]
    # The proxy got the SM-DP+'s name, not an address: it does the resolving (and may filter by it).
    assert set(proxy.tunnels) == {strict_smdp.address}
