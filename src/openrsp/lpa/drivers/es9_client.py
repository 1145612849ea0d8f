"""ES9+ (LPA → SM-DP+) over HTTPS with the JSON binding of SGP.22 §6.5 (openrsp.wire.es9's codec).

Binary fields travel as base64 of their DER (each a complete TLV), transactionId as hex. A response
whose header says "Failed" becomes `Es9Failure` with the SM-DP+'s subjectCode and reasonCode; no
answer at all (DNS, refused connection, TLS, timeout) becomes `SmdpUnreachable`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from openrsp.lpa.core.errors import Es9Failure, Es9ProtocolError, SmdpTlsError, SmdpUnreachable
from openrsp.lpa.drivers.https import HttpsSettings
from openrsp.wire import es9 as wire
from openrsp.wire.es9 import AuthenticateClientResult, Es9WireError, InitiateAuthenticationResult

T = TypeVar("T")

USER_AGENT = "gsma-rsp-lpad"
ADMIN_PROTOCOL = "gsma/rsp/v2.2.2"
PATH = "/gsma/rsp2/es9plus/"
FUNCTION_PROVIDER = "1.2"  # subject code of failures inside the SM-DP+ itself
MAX_RESPONSE = 8 << 20  # a bound profile package is a few hundred kilobytes at most


class Es9Client:
    """The five ES9+ functions against one SM-DP+ address (host or host:port)."""

    path = PATH  # where the functions live (ES11 has its own: lpa.es11_client)

    def __init__(self, address: str, settings: HttpsSettings, *, http: httpx.Client | None = None) -> None:
        self.address = address
        self.settings = settings
        self._http = http
        self._own_http = http is None

    def close(self) -> None:
        if self._http is not None and self._own_http:
            self._http.close()
        self._http = None

    def __enter__(self) -> Es9Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the functions ---------------------------------------------------------------------------
    def initiate_authentication(
        self, euicc_challenge: bytes, euicc_info1: bytes, smdp_address: str | None = None
    ) -> InitiateAuthenticationResult:
        function = "initiateAuthentication"
        request = wire.initiate_authentication_request(
            euicc_challenge, euicc_info1, smdp_address or self.address
        )
        return _decoded(function, wire.decode_initiate_authentication, self._post(function, request))

    def authenticate_client(
        self, transaction_id: bytes, authenticate_server_response: bytes
    ) -> AuthenticateClientResult:
        function = "authenticateClient"
        body = self._post(
            function, wire.authenticate_client_request(transaction_id, authenticate_server_response)
        )
        return _decoded(function, wire.decode_authenticate_client, body, transaction_id)

    def get_bound_profile_package(self, transaction_id: bytes, prepare_download_response: bytes) -> bytes:
        function = "getBoundProfilePackage"
        request = wire.get_bound_profile_package_request(transaction_id, prepare_download_response)
        return _decoded(
            function, wire.decode_bound_profile_package, self._post(function, request), transaction_id
        )

    def handle_notification(self, pending_notification: bytes) -> Es9Failure | None:
        """Hand a notification over. SGP.22 gives this function no answer: once the SM-DP+ has taken
        it (any 2xx), it is delivered. A Failed status it may still send back is returned (not raised)
        for the caller to show, except a failure of the SM-DP+ itself (subject 1.2), worth a retry.
        """
        try:
            self._post(
                "handleNotification", wire.handle_notification_request(pending_notification), answer=False
            )
        except Es9Failure as complaint:
            if complaint.subject_code == FUNCTION_PROVIDER:
                raise
            return complaint
        return None

    def cancel_session(self, transaction_id: bytes, cancel_session_response: bytes) -> None:
        request = wire.cancel_session_request(transaction_id, cancel_session_response)
        self._post("cancelSession", request, answer=False)

    # --- HTTP -----------------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = self.settings.client()
            self._own_http = True
        return self._http

    def _post(self, function: str, payload: dict[str, Any], *, answer: bool = True) -> dict[str, Any]:
        """POST one function; returns the response body (without checking fields beyond the header)."""
        authority, sni = self.settings.target(self.address)
        headers = {
            "User-Agent": USER_AGENT,
            "X-Admin-Protocol": ADMIN_PROTOCOL,
            "Content-Type": "application/json",
        }
        extensions: dict[str, Any] = {}
        if sni is not None:
            headers["Host"] = self.address
            extensions["sni_hostname"] = sni
        client = self._client()
        request = client.build_request(
            "POST",
            f"https://{authority}{self.path}{function}",
            json=payload,
            headers=headers,
            extensions=extensions,
        )
        try:
            response = client.send(request)
        except httpx.TimeoutException as exc:
            raise SmdpUnreachable(
                function, self.address, f"timed out ({type(exc).__name__})", timeout=True
            ) from None
        except httpx.TransportError as exc:
            raise _unreachable(function, self.address, exc) from None
        return _read_response(function, response, answer=answer)


def _unreachable(function: str, address: str, exc: httpx.TransportError) -> SmdpUnreachable:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return SmdpTlsError(function, address, f"TLS certificate not trusted: {cause.verify_message}")
        if isinstance(cause, ssl.SSLError):
            return SmdpTlsError(function, address, f"TLS failed: {cause.reason or cause}")
        cause = cause.__cause__ or cause.__context__
    return SmdpUnreachable(function, address, str(exc) or type(exc).__name__)


def _read_response(function: str, response: httpx.Response, *, answer: bool) -> dict[str, Any]:
    if len(response.content) > MAX_RESPONSE:
        raise Es9ProtocolError(function, "response too large")
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = None
    status = wire.function_status(body)
    if status is not None and status.failed:
        raise Es9Failure(function, status.subject_code, status.reason_code, status.message)
    if not 200 <= response.status_code < 300:
        raise Es9ProtocolError(function, f"HTTP {response.status_code}")
    if not answer:  # handleNotification / cancelSession: any 2xx will do (lpac does the same)
        return body if isinstance(body, dict) else {}
    if not isinstance(body, dict) or status is None:
        raise Es9ProtocolError(function, "no JSON body with header.functionExecutionStatus")
    if not status.status.startswith("Executed"):
        raise Es9ProtocolError(function, f"unknown status {status.status[:40]!r}")
    return body


def _decoded(function: str, decode: Callable[..., T], body: dict[str, Any], *args: Any) -> T:
    """A response body through the shared codec; its complaints become this LPA's protocol errors."""
    try:
        return decode(function, body, *args)
    except Es9WireError as exc:
        raise Es9ProtocolError(function, exc.detail) from None
