"""The lab's SM-DS: the real SM-DS application (ES11 for the LPA, ES12 for the SM-DP+), served by the
lab's event loop next to its SM-DP+, behind the same recording layer.

It listens on 127.0.0.1 only: its address is what the lab's PKI names in the DS TLS certificate
(`init_pki(smds_host="127.0.0.1")`), what orders are confirmed with (smdsAddress), and what the
lab's virtual eUICC holds as its root SM-DS. Credentials without SM-DS certificates (the SGP.26
folder has none) leave the lab without an SM-DS: the discovery case says so and is not run.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from cryptography import x509
from starlette.types import ASGIApp

from openrsp.device.server import bind
from openrsp.errors import OpenRSPError
from openrsp.pki.certio import load_certificate
from openrsp.smdp.errors import ConfigError
from openrsp.smds.config import load_config
from openrsp.smds.credentials import SmdsCredentials
from openrsp.smds.http.app import create_app
from openrsp.smds.server import prepare
from openrsp.smds.store import EventRecord, EventStore

HOST = "127.0.0.1"
# What the recording layer records at the SM-DS: ES11 (also under lpac's ES9+ paths) and ES12.
PREFIXES = ("/gsma/rsp2/es11/", "/gsma/rsp2/es9plus/", "/gsma/rsp2/es12/")


class LabSmds:
    """Made by `LabSmds.create` (None, and why, when the credentials cannot run an SM-DS)."""

    def __init__(self, sock: socket.socket, app: ASGIApp, tls: ssl.SSLContext, store: EventStore) -> None:
        self.socket = sock
        self.app = app
        self.tls = tls
        self.store = store

    @classmethod
    def create(cls, credentials: Path, workdir: Path) -> tuple[LabSmds | None, str]:
        try:
            names = _tls_names(SmdsCredentials.load(credentials).tls_chain)
        except (ConfigError, OpenRSPError) as exc:
            return None, f"the credentials have no SM-DS certificates ({exc})"
        if HOST not in names:
            return None, f"the DS TLS certificate names {names}, the lab's SM-DS listens on {HOST}"
        sock = bind(HOST, 0)  # bound first: the address is known before the SM-DS is configured
        try:
            config = load_config(
                data_dir=workdir,
                credentials_dir=credentials,
                address=f"{HOST}:{sock.getsockname()[1]}",
                log_level="warning",
            )
            config, ssl_factory = prepare(config)
            app, tls = create_app(config), ssl_factory(None, None)
        except BaseException:
            sock.close()
            raise
        return cls(sock, app, tls, EventStore.open(config.db_url)), ""

    @property
    def address(self) -> str:
        return f"{HOST}:{self.socket.getsockname()[1]}"

    def events(self, eid: str) -> list[EventRecord]:
        """The events waiting at this SM-DS for `eid`, read behind its back."""
        with self.store.transaction() as conn:
            return self.store.for_eid(conn, eid)

    def forget(self, eid: str) -> None:
        """Remove every event for `eid` (a case starts with none, whatever the one before left)."""
        with self.store.transaction() as conn:
            self.store.remove(conn, [e.id for e in self.store.for_eid(conn, eid)])

    def close(self) -> None:
        self.socket.close()
        self.store.engine.dispose()


def _tls_names(chain: Path) -> list[str]:
    """The DNS names and IP addresses the DS TLS certificate (first in the chain) names."""
    try:
        san = load_certificate(chain).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.DNSName), *map(str, san.get_values_for_type(x509.IPAddress))]
