"""How the LPA reaches an SM-DP+ over HTTPS: whom it trusts, what it presents, where names go.

Unlike lpac, the LPA verifies the SM-DP+'s TLS certificate: against the GSMA CI certificates it is
given (the SM-DP+ TLS certificate chains to a CI), with the host name checked. `resolve` maps a host
name to an IP address the way `curl --resolve` does, so test and demo SM-DP+ names reach loopback
without touching /etc/hosts; the name still goes into SNI, the Host header and the certificate check.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from openrsp.lpa.core.errors import LpaInputError, NoTrustError

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class HttpsSettings:
    ca_certificates: tuple[x509.Certificate, ...] = ()  # the CI certificates (trust anchors)
    client_cert: Path | None = None  # LPA TLS client certificate (PEM, may hold the chain)
    client_key: Path | None = None
    resolve: Mapping[str, str] = field(default_factory=dict)  # host -> IP
    proxy: str | None = None  # http://host:port, tunnelled with CONNECT
    timeout: float = DEFAULT_TIMEOUT

    @functools.cached_property
    def _context(self) -> ssl.SSLContext:
        if not self.ca_certificates:
            raise NoTrustError(
                "no CI certificate to verify the SM-DP+ TLS certificate with (give --ci CERT or --pki DIR)"
            )
        # The CI certificates and nothing else: the system's web CAs have no say over an SM-DP+.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checked, certificate required
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(
            cadata="".join(c.public_bytes(Encoding.PEM).decode() for c in self.ca_certificates)
        )
        if self.client_cert is not None:
            try:
                context.load_cert_chain(
                    str(self.client_cert), str(self.client_key) if self.client_key else None
                )
            except (OSError, ssl.SSLError) as exc:
                raise LpaInputError(
                    f"cannot use the LPA TLS client certificate {self.client_cert}: {exc}"
                ) from None
        return context

    def ssl_context(self) -> ssl.SSLContext:
        """One context for all connections of these settings (building one costs more than a handshake)."""
        return self._context

    def client(self) -> httpx.Client:
        return httpx.Client(verify=self.ssl_context(), proxy=self.proxy, timeout=self.timeout)

    def target(self, address: str) -> tuple[str, str | None]:
        """The authority to connect to for `address` (host[:port]) and the name for SNI when resolved.

        With a proxy, names go to the proxy unresolved: it does the resolving (CONNECT host:port).
        """
        host, sep, port = address.partition(":")
        ip = self.resolve.get(host.lower())
        if ip is None or self.proxy:
            return address, None
        literal = f"[{ip}]" if ":" in ip else ip
        return f"{literal}{sep}{port}", host


def parse_resolve(entries: Iterable[str]) -> dict[str, str]:
    """`HOST:IP` entries (curl's `HOST:PORT:IP` also accepted; the port is not part of the match)."""
    mapping: dict[str, str] = {}
    for entry in entries:
        host, _, rest = entry.partition(":")
        port_form = re.match(r"^\d+:(.+)$", rest)
        candidates = [rest] + ([port_form.group(1)] if port_form else [])
        ip = next((c.strip("[]") for c in candidates if _is_ip(c.strip("[]"))), None)
        if not host or ip is None:
            raise LpaInputError(f"--resolve {entry!r}: expected HOST:IP, e.g. smdp.example.com:127.0.0.1")
        mapping[host.lower()] = ip
    return mapping


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def load_ca_certificates(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Certificates from PEM (one or several per file) or DER files."""
    certificates: list[x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise LpaInputError(f"cannot read CI certificate {path}: {exc.strerror or exc}") from None
        try:
            if b"-----BEGIN" in data:
                certificates.extend(x509.load_pem_x509_certificates(data))
            else:
                certificates.append(x509.load_der_x509_certificate(data))
        except ValueError as exc:
            raise LpaInputError(f"{path} is not a certificate: {exc}") from None
    return certificates
