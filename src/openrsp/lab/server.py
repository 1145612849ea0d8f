"""The lab's server side: the real SM-DP+ application, in this process, behind the lab's layer.

Three HTTPS listeners share one event-loop thread and one SM-DP+ context:
  main            the SM-DP+ with its own TLS certificate (the address in every activation code)
  tls-untrusted   the same application behind a TLS certificate that chains to another CI
  tls-wrong-host  behind a certificate from the right CI that names another host
A conformant LPA talks only to the first. Orders are made through the SM-DP+'s own ES2+ service
(the same code the HTTPS ES2+ runs), so every refusal a case needs is the real SM-DP+'s.
The lab's SM-DS (openrsp.lab.smds), when its credentials allow one, is a fourth listener ("smds")
on the same loop, recorded by the same layer; the SM-DP+ runs its outbox worker (its lifespan) so
that events are registered and deleted at the SM-DS as in `openrsp smdp serve`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from openrsp.crypto.signer import as_signer
from openrsp.device.server import bind
from openrsp.errors import InputError
from openrsp.lab.exchange import Recorder
from openrsp.lab.faults import NO_FAULT, DpAuthKey, Fault
from openrsp.lab.layer import LabLayer
from openrsp.lab.smds import PREFIXES as SMDS_PREFIXES
from openrsp.lab.smds import LabSmds
from openrsp.pki import issue
from openrsp.pki.certio import certificate_pem, load_private_key, write_file, write_private_key
from openrsp.pki.credentials import detect_layout
from openrsp.pki.curves import generate_key
from openrsp.pki.testpki import init_pki
from openrsp.rspserver.protocol import limited_protocol
from openrsp.rspserver.tls import make_ssl_context
from openrsp.smdp.config import load_config
from openrsp.smdp.context import SmdpContext, build_context
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.es9.credentials import signing_sets
from openrsp.smdp.http.app import create_app
from openrsp.smdp.inventory import (
    ProfileExtras,
    generate_profiles,
    import_packages,
    subscriptions_from_rows,
)
from openrsp.smdp.server import prepare
from openrsp.smdp.tlsfiles import load_credentials, resolve_address

LISTENERS = ("main", "tls-untrusted", "tls-wrong-host")
SMDS_LISTENER = "smds"
START_TIMEOUT = 60.0


def ci_pair(credentials: Path, curve: str | None = None) -> tuple[Path, Path]:
    """(CI certificate PEM, CI private key PEM) of a `pki init` or SGP.26 folder: for `curve`, or
    the NIST CI when there is one (the SM-DP+ TLS certificate chains to it), else the brainpool one."""
    openrsp_layout = detect_layout(credentials) == "openrsp"

    def pair(name: str) -> tuple[Path, Path]:
        if openrsp_layout:
            return credentials / name / "ci.cert.pem", credentials / name / "ci.key.pem"
        upper = {"nist": "NIST", "brp": "BRP"}[name]
        folder = credentials / "CertificateIssuer"
        return folder / f"CERT_CI_ECDSA_{upper}.pem", folder / f"SK_CI_ECDSA_{upper}.pem"

    if curve is not None:
        return pair(curve)
    nist = pair("nist")
    return nist if nist[0].is_file() else pair("brp")


@dataclass
class Order:
    iccid: str
    activation_code: str
    matching_id: str


class LabServer:
    """Start with `start()`, stop with `stop()`; `fault` is the current case's misbehaviour."""

    def __init__(self, credentials: Path, workdir: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.credentials = credentials
        self.workdir = workdir
        self.recorder = Recorder()
        self.fault: Fault = NO_FAULT
        self._sockets = {
            name: bind(host, port if name == "main" else 0) for name in LISTENERS
        }  # bound first: port 0 works and the address is known before the SM-DP+ is configured
        self.tls_host = ""
        self.context: SmdpContext | None = None
        self._servers: list[uvicorn.Server] = []
        self._served_sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._serial = 0
        self._other_pki = workdir / "other-ci"
        self.smds: LabSmds | None = None
        self.smds_unavailable = "the lab's SM-DS is not started"

    # --- addresses -----------------------------------------------------------------------------
    def port(self, listener: str = "main") -> int:
        return self._sockets[listener].getsockname()[1]

    def address(self, listener: str = "main") -> str:
        """host:port, or the bare host on 443: SGP.22 addresses are FQDNs, and not every phone's LPA
        accepts a port in an activation code."""
        port = self.port(listener)
        return self.tls_host if port == 443 else f"{self.tls_host}:{port}"

    # --- life ----------------------------------------------------------------------------------
    def start(self) -> LabServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)  # the SM-DP+ data (KEK, keys) below is secret
        base = load_config(data_dir=self.workdir / "smdp-data", credentials_dir=self.credentials)
        self.tls_host = resolve_address(base, load_credentials(self.credentials)).partition(":")[0]
        if not self.tls_host:
            raise InputError(f"{self.credentials}: no SM-DP+ host name in its TLS certificate")
        config = load_config(
            data_dir=self.workdir / "smdp-data",
            credentials_dir=self.credentials,
            address=self.address(),
            cc_max_attempts=3,
            log_level="warning",
        )
        config, ssl_factory = prepare(config)
        self.context = build_context(config)
        app = create_app(self.context, close_context=False)
        contexts = {
            "main": ssl_factory(None, None),
            "tls-untrusted": self._untrusted_tls(),
            "tls-wrong-host": self._wrong_host_tls(),
        }
        served: list[tuple[str, Any, socket.socket]] = [
            (name, LabLayer(app, self.recorder, lambda: self.fault, name), sock)
            for name, sock in self._sockets.items()
        ]
        self.smds, self.smds_unavailable = LabSmds.create(self.credentials, self.workdir / "smds-data")
        if self.smds is not None:
            contexts[SMDS_LISTENER] = self.smds.tls
            layered = LabLayer(self.smds.app, self.recorder, lambda: NO_FAULT, SMDS_LISTENER, SMDS_PREFIXES)
            served.append((SMDS_LISTENER, layered, self.smds.socket))
        for name, layered, sock in served:
            server_config = uvicorn.Config(
                layered,
                ssl_context_factory=lambda _c, _d, context=contexts[name]: context,
                http=limited_protocol(config.limits),
                # the SM-DP+'s lifespan runs its outbox worker (once: on the main listener); the
                # SM-DS's closes its database
                lifespan="on" if name in ("main", SMDS_LISTENER) else "off",
                log_level="critical",  # refused handshakes are the point of two listeners
                access_log=False,
                timeout_graceful_shutdown=2,
                server_header=False,
            )
            self._servers.append(uvicorn.Server(server_config))
            self._served_sockets.append(sock)
        self._thread = threading.Thread(target=self._run, name="lab-smdp", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT  # a listener whose lifespan failed never starts
        while not all(s.started for s in self._servers):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise InputError("the lab's SM-DP+ (or SM-DS) did not start")
            threading.Event().wait(0.02)
        return self

    def _run(self) -> None:
        async def main() -> None:
            await asyncio.gather(
                *(
                    s.serve(sockets=[sock])
                    for s, sock in zip(self._servers, self._served_sockets, strict=True)
                )
            )

        asyncio.run(main())

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        for sock in self._sockets.values():
            sock.close()
        if self.smds is not None:
            self.smds.close()
        if self.context is not None:
            self.context.close()

    def smds_address(self) -> str | None:
        """The lab's SM-DS (host:port), or None when it has none (see `smds_unavailable`)."""
        return self.smds.address if self.smds is not None else None

    # --- TLS certificates that must be refused -------------------------------------------------
    def _other_ci(self) -> Path:
        """A whole second PKI (another CI): its DPauth and its TLS certificate must be refused."""
        if not (self._other_pki / "index.json").is_file():
            init_pki(self._other_pki, curves=("nist", "brp"), smdp_host=self.tls_host)
        return self._other_pki

    def _untrusted_tls(self) -> ssl.SSLContext:
        other = self._other_ci()
        return make_ssl_context(
            None,
            None,
            chain_file=str(other / "tls" / "dptls.chain.pem"),
            key_file=str(other / "tls" / "dptls.key.pem"),
        )

    def _wrong_host_tls(self) -> ssl.SSLContext:
        folder = self.workdir / "tls-wrong-host"
        chain, key_file = folder / "chain.pem", folder / "tls.key.pem"
        if not chain.is_file():
            ci_cert_path, ci_key_path = ci_pair(self.credentials)
            from cryptography import x509

            ci = x509.load_pem_x509_certificate(ci_cert_path.read_bytes())
            key = generate_key("nist")
            cert = issue.issue_dptls_certificate(
                ci, load_private_key(ci_key_path), key.public_key(), "not-" + self.tls_host
            )
            folder.mkdir(parents=True, exist_ok=True)
            write_private_key(folder / "tls", key)
            write_file(chain, certificate_pem(cert) + certificate_pem(ci))
        return make_ssl_context(None, None, chain_file=str(chain), key_file=str(key_file))

    # --- keys for the re-signing faults --------------------------------------------------------
    def own_dpauth(self, certificate: bytes) -> DpAuthKey:
        """The SM-DP+'s own DPauth key for the certificate it chose."""
        for chosen in signing_sets(self.context.credentials if self.context else None):
            if chosen.dpauth_der == certificate:
                return DpAuthKey(as_signer(chosen.dpauth_key), chosen.dpauth_der)
        raise InputError("the SM-DP+ answered with a DPauth certificate the lab does not hold")

    def other_ci_dpauth(self, certificate: bytes) -> DpAuthKey:
        """A DPauth key and certificate on the same curve, from another CI."""
        curve = next(
            s.curve for s in signing_sets(self.context.credentials if self.context else None)
            if s.dpauth_der == certificate
        )  # fmt: skip
        folder = self._other_ci() / curve
        return DpAuthKey(
            as_signer(load_private_key(folder / "dpauth.key.pem")), (folder / "dpauth.cert.der").read_bytes()
        )

    # --- ES2+ and inventory --------------------------------------------------------------------
    def es2(self, function: str, **fields: Any) -> dict[str, Any]:
        """One ES2+ function of the SM-DP+, as the default operator (the code HTTPS ES2+ runs)."""
        context = self._ctx()
        service = Es2Service(
            context.database,
            operator="default",
            address=context.address,
            defaults=context.order_defaults,
            clock=context.clock,
            rng=context.rng,
            smds=context.smds,  # confirmOrder with smdsAddress registers the event at the SM-DS
        )
        return service.call(function, {k: v for k, v in fields.items() if v is not None})

    def _ctx(self) -> SmdpContext:
        if self.context is None:
            raise InputError("the lab's SM-DP+ is not started")
        return self.context

    def new_profile(self, name: str = "openrsp lab", *, pprs: tuple[str, ...] = ()) -> str:
        """A freshly generated profile in the inventory (carrying these PPRs: ppr1, ppr2); its ICCID."""
        self._serial += 1
        stamp = int(datetime.now(UTC).timestamp()) % 10**6
        iccid = f"8999{os.getpid() % 10**5:05d}{stamp:06d}{self._serial:04d}"
        imsi = f"00101{int(iccid[-10:]):010d}"
        rows = [{"iccid": iccid, "imsi": imsi, "spn": "openrsp lab", "profile_name": name}]
        [sub] = generate_profiles(
            self._ctx().database,
            subscriptions_from_rows(rows),
            operator="default",
            extras=ProfileExtras(pprs),
        )
        return sub.iccid

    def import_profile(self, path: Path) -> str:
        [iccid] = import_packages(self._ctx().database, [path], operator="default")
        return iccid

    def order(
        self,
        iccid: str,
        *,
        eid: str | None = None,
        cc: str | None = None,
        release: bool = True,
        expires_in: timedelta | None = None,
        cc_attempts: int | None = None,
        matching_id: str | None = None,
        smds_address: str | None = None,
        listener: str = "main",
    ) -> Order:
        """downloadOrder + confirmOrder (with `smds_address`: the event registered there); the
        activation code (pointing at `listener`)."""
        self.es2("downloadOrder", iccid=iccid, eid=eid)
        expires = (datetime.now(UTC) + expires_in).isoformat() if expires_in is not None else None
        confirmed = self.es2(
            "confirmOrder",
            iccid=iccid,
            eid=eid,
            matchingId=matching_id,
            confirmationCode=cc,
            releaseFlag=release,
            expiresAt=expires,
            maxConfirmationCodeAttempts=cc_attempts,
            smdsAddress=smds_address,
        )
        matching = confirmed.get("matchingId") or ""
        code = f"LPA:1${self.address(listener)}${matching}"
        return Order(iccid, code + ("$$1" if cc else ""), matching)

    def state(self, iccid: str) -> str:
        return str(self.es2("profileStatus", iccid=iccid)["state"])
