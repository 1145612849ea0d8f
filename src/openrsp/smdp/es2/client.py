"""The operator's side of ES2+: JSON over HTTPS with a TLS client certificate (httpx)."""

from __future__ import annotations

import itertools
import ssl
import time
from pathlib import Path
from typing import Any

import httpx

from openrsp.errors import OpenRSPError
from openrsp.rspserver.jsonapi import ADMIN_PROTOCOL
from openrsp.smdp.errors import Es2Error

ES2_PREFIX = "/gsma/rsp2/es2plus/"
STATUS_PATH = "/openrsp/es2plus/profileStatus"


class Es2ClientError(OpenRSPError):
    """The SM-DP+ could not be reached, or answered something that is not ES2+."""


class Es2Client:
    def __init__(
        self,
        base_url: str,
        *,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        ca: Path | None = None,
        tls_name: str | None = None,
        requester_id: str = "openrsp-operator",
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tls_name = tls_name
        self.requester_id = requester_id
        self._calls = itertools.count(1)
        try:
            context = ssl.create_default_context(cafile=str(ca) if ca else None)
            if client_cert is not None:
                context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
        except (OSError, ssl.SSLError) as exc:
            raise Es2ClientError(f"cannot load the TLS files: {exc}") from None
        self._http = httpx.Client(verify=context, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def call(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        """Call one ES2+ function; its response fields (header removed), or Es2Error when Failed."""
        path = STATUS_PATH if function == "profileStatus" else ES2_PREFIX + function
        request = {
            "header": {
                "functionRequesterIdentifier": self.requester_id,
                "functionCallIdentifier": f"{int(time.time())}-{next(self._calls)}",
            },
            **body,
        }
        extensions = {"sni_hostname": self.tls_name} if self.tls_name else None
        try:
            response = self._http.post(
                self.base_url + path,
                json=request,
                headers={"X-Admin-Protocol": ADMIN_PROTOCOL},
                extensions=extensions,
            )
        except httpx.HTTPError as exc:
            raise Es2ClientError(f"cannot reach the SM-DP+ at {self.base_url}: {exc}") from None
        return parse_response(response)


def parse_response(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise Es2ClientError(f"the SM-DP+ answered HTTP {response.status_code} without JSON") from None
    status = (data.get("header") or {}).get("functionExecutionStatus") if isinstance(data, dict) else None
    if not isinstance(status, dict):
        raise Es2ClientError(f"the SM-DP+ answered HTTP {response.status_code} without an ES2+ header")
    if status.get("status") not in ("Executed-Success", "Executed-WithWarning"):
        code = status.get("statusCodeData") or {}
        raise Es2Error(
            str(code.get("subjectCode", "?")),
            str(code.get("reasonCode", "?")),
            str(code.get("message", "")),
            code.get("subjectIdentifier"),
        )
    return {k: v for k, v in data.items() if k != "header"}
