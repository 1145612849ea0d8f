"""Calling an SM-DS: ES12 (from an SM-DP+) and ES15 (from an alternative SM-DS), JSON over mutual TLS.

The caller presents its own TLS certificate (CERT.DP.TLS for an SM-DP+, CERT.DS.TLS for an SM-DS)
and trusts the CIs that issue SM-DS TLS certificates. Outcomes are one of three, because what the
caller does next depends on it: `Executed` (done), `SmdsRefused` (the SM-DS answered Failed:
retrying the same request will not help) and `SmdsUnreachable` (no answer: try again later).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from openrsp.errors import OpenRSPError

ADMIN_PROTOCOL = "gsma/rsp/v2.2.0"
MAX_RESPONSE = 64 << 10
ES12 = "/gsma/rsp2/es12/"
ES15 = "/gsma/rsp2/es15/"


class SmdsUnreachable(OpenRSPError):
    """No usable answer (DNS, connection, TLS, timeout, not JSON): worth another try later."""


class SmdsRefused(OpenRSPError):
    """The SM-DS answered Failed with these SGP.22 codes."""

    def __init__(self, subject_code: str, reason_code: str, message: str) -> None:
        super().__init__(
            f"{subject_code}/{reason_code}: {message}" if message else f"{subject_code}/{reason_code}"
        )
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.message = message


@dataclass(frozen=True)
class SmdsTarget:
    """Where an SM-DS is: its address as SGP.22 names it (host[:port]), and how to reach it."""

    address: str  # FQDN[:port]: what the certificate must name
    url: str | None = None  # override (e.g. https://127.0.0.1:8444) when the name does not resolve

    @property
    def base_url(self) -> str:
        return (self.url or f"https://{self.address}").rstrip("/")

    @property
    def tls_name(self) -> str:
        host = self.address.rsplit(":", 1)[0] if self.address.count(":") == 1 else self.address
        return host


def ssl_context(
    client_chain: Path, client_key: Path, trusted: Sequence[Path | x509.Certificate]
) -> ssl.SSLContext:
    """Present our TLS chain; trust the given CIs (files or certificates) for the SM-DS's certificate."""
    context = ssl.create_default_context(cafile=None)
    # TLS 1.2, as SGP.22 §2.6.6 profiles it; it also makes a refused client certificate fail the
    # handshake with an alert we can tell apart from a server that is down (TLS 1.3 refuses it later).
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    pem = "".join(
        c.public_bytes(Encoding.PEM).decode() if isinstance(c, x509.Certificate) else Path(c).read_text()
        for c in trusted
    )
    context.load_verify_locations(cadata=pem)
    context.load_cert_chain(str(client_chain), str(client_key))
    return context


class SmdsClient:
    """POSTs one function at a time to an SM-DS over a mutually authenticated TLS connection."""

    def __init__(self, context: ssl.SSLContext, *, timeout: float = 10.0) -> None:
        self._context = context
        self._timeout = timeout

    def call(self, target: SmdsTarget, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = target.base_url + path
        headers = {"X-Admin-Protocol": ADMIN_PROTOCOL, "Content-Type": "application/json"}
        extensions: dict[str, Any] = {}
        if target.url is not None:  # connect to the URL, check the certificate for the SM-DS name
            headers["Host"] = target.address
            extensions["sni_hostname"] = target.tls_name
        try:
            with httpx.Client(verify=self._context, timeout=self._timeout) as http:
                response = http.post(url, content=json.dumps(body), headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            tls = _tls_failure(exc)
            if tls is not None:  # a certificate one side does not accept: asking again will not help
                raise SmdsRefused("1.1", "1.2", f"{target.address}: TLS refused: {tls}") from None
            raise SmdsUnreachable(f"{target.address}: {exc or type(exc).__name__}") from None
        if len(response.content) > MAX_RESPONSE:
            raise SmdsUnreachable(f"{target.address}: response too large")
        try:
            answer = response.json()
            status = answer["header"]["functionExecutionStatus"]
        except (ValueError, KeyError, TypeError):
            raise SmdsUnreachable(
                f"{target.address}: HTTP {response.status_code} without an RSP answer"
            ) from None
        if status.get("status") == "Failed":
            data = status.get("statusCodeData") or {}
            raise SmdsRefused(str(data.get("subjectCode", "?")), str(data.get("reasonCode", "?")),
                              str(data.get("message", "")))  # fmt: skip
        return answer

    def register_event(
        self,
        target: SmdsTarget,
        eid: str,
        event_id: str,
        rsp_server_address: str,
        *,
        forwarding: bool,
        es15: bool = False,
    ) -> None:
        body = {"eid": eid, "rspServerAddress": rsp_server_address, "eventId": event_id,
                "forwardingIndicator": forwarding}  # fmt: skip
        self.call(target, (ES15 if es15 else ES12) + "registerEvent", _with_header(body))

    def delete_event(self, target: SmdsTarget, eid: str, event_id: str, *, es15: bool = False) -> None:
        self.call(
            target, (ES15 if es15 else ES12) + "deleteEvent", _with_header({"eid": eid, "eventId": event_id})
        )


def _tls_failure(exc: BaseException) -> str | None:
    """The TLS error (certificate refused by either side) behind an httpx error, if that is what it is."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the SM-DS certificate is not trusted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError) and isinstance(exc, httpx.ConnectError):
            # The SM-DS broke off the handshake after seeing our certificate (an alert, or just EOF).
            return f"our certificate was not accepted ({cause.reason or cause})"
        cause = cause.__cause__ or cause.__context__
    return None


def split_url(url: str) -> SmdsTarget:
    """An https:// URL of an SM-DS as a target whose address is the URL's host[:port]."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise OpenRSPError(f"not an https:// URL: {url!r}")
    address = parts.hostname + (f":{parts.port}" if parts.port else "")
    return SmdsTarget(address, url.rstrip("/"))


def _with_header(body: dict[str, Any]) -> dict[str, Any]:
    return {"header": {"functionRequesterIdentifier": "openrsp", "functionCallIdentifier": "1"}, **body}
