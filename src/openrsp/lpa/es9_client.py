"""ES9+ (LPA → SM-DP+) over HTTPS with the JSON binding of SGP.22 §6.5.

Binary fields travel as base64 of their DER (each a complete TLV), transactionId as hex. A response
whose header says "Failed" becomes `Es9Failure` with the SM-DP+'s subjectCode and reasonCode; no
answer at all (DNS, refused connection, TLS, timeout) becomes `SmdpUnreachable`.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from openrsp.asn1.tlv import TlvError, read_single_tlv
from openrsp.hexutil import to_hex
from openrsp.lpa.errors import Es9Failure, Es9ProtocolError, SmdpTlsError, SmdpUnreachable
from openrsp.lpa.https import HttpsSettings

USER_AGENT = "gsma-rsp-lpad"
ADMIN_PROTOCOL = "gsma/rsp/v2.2.2"
PATH = "/gsma/rsp2/es9plus/"
FUNCTION_PROVIDER = "1.2"  # subject code of failures inside the SM-DP+ itself
MAX_RESPONSE = 8 << 20  # a bound profile package is a few hundred kilobytes at most


@dataclass(frozen=True)
class InitiateAuthenticationResult:
    transaction_id: bytes
    server_signed1: bytes  # each a complete TLV, as received
    server_signature1: bytes
    euicc_ci_pkid_to_be_used: bytes
    server_certificate: bytes


@dataclass(frozen=True)
class AuthenticateClientResult:
    transaction_id: bytes
    profile_metadata: bytes  # StoreMetadataRequest (BF25)
    smdp_signed2: bytes
    smdp_signature2: bytes
    smdp_certificate: bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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
        body = self._post(
            function,
            {
                "euiccChallenge": b64(euicc_challenge),
                "euiccInfo1": b64(euicc_info1),
                "smdpAddress": smdp_address or self.address,
            },
        )
        return InitiateAuthenticationResult(
            transaction_id=_transaction_id(function, body),
            server_signed1=_tlv_field(function, body, "serverSigned1", 0x30),
            server_signature1=_tlv_field(function, body, "serverSignature1", 0x5F37),
            euicc_ci_pkid_to_be_used=_tlv_field(function, body, "euiccCiPKIdToBeUsed", 0x04),
            server_certificate=_tlv_field(function, body, "serverCertificate", 0x30),
        )

    def authenticate_client(
        self, transaction_id: bytes, authenticate_server_response: bytes
    ) -> AuthenticateClientResult:
        function = "authenticateClient"
        body = self._post(
            function,
            {
                "transactionId": to_hex(transaction_id),
                "authenticateServerResponse": b64(authenticate_server_response),
            },
        )
        return AuthenticateClientResult(
            transaction_id=_transaction_id(function, body, transaction_id),
            profile_metadata=_tlv_field(function, body, "profileMetadata", 0xBF25),
            smdp_signed2=_tlv_field(function, body, "smdpSigned2", 0x30),
            smdp_signature2=_tlv_field(function, body, "smdpSignature2", 0x5F37),
            smdp_certificate=_tlv_field(function, body, "smdpCertificate", 0x30),
        )

    def get_bound_profile_package(self, transaction_id: bytes, prepare_download_response: bytes) -> bytes:
        function = "getBoundProfilePackage"
        body = self._post(
            function,
            {
                "transactionId": to_hex(transaction_id),
                "prepareDownloadResponse": b64(prepare_download_response),
            },
        )
        _transaction_id(function, body, transaction_id)
        return _tlv_field(function, body, "boundProfilePackage", 0xBF36)

    def handle_notification(self, pending_notification: bytes) -> Es9Failure | None:
        """Hand a notification over. SGP.22 gives this function no answer: once the SM-DP+ has taken
        it (any 2xx), it is delivered. A Failed status it may still send back is returned (not raised)
        for the caller to show, except a failure of the SM-DP+ itself (subject 1.2), worth a retry.
        """
        try:
            self._post("handleNotification", {"pendingNotification": b64(pending_notification)}, answer=False)
        except Es9Failure as complaint:
            if complaint.subject_code == FUNCTION_PROVIDER:
                raise
            return complaint
        return None

    def cancel_session(self, transaction_id: bytes, cancel_session_response: bytes) -> None:
        self._post(
            "cancelSession",
            {"transactionId": to_hex(transaction_id), "cancelSessionResponse": b64(cancel_session_response)},
            answer=False,
        )

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
    status = _header_status(body)
    if status is not None and status[0] == "Failed":
        data = status[1]
        raise Es9Failure(
            function,
            str(data.get("subjectCode", "?")),
            str(data.get("reasonCode", "?")),
            str(data.get("message", "")),
        )
    if not 200 <= response.status_code < 300:
        raise Es9ProtocolError(function, f"HTTP {response.status_code}")
    if not answer:  # handleNotification / cancelSession: any 2xx will do (lpac does the same)
        return body if isinstance(body, dict) else {}
    if not isinstance(body, dict) or status is None:
        raise Es9ProtocolError(function, "no JSON body with header.functionExecutionStatus")
    if not status[0].startswith("Executed"):
        raise Es9ProtocolError(function, f"unknown status {status[0]!r}")
    return body


def _header_status(body: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(body, dict):
        return None
    header = body.get("header")
    status = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    if not isinstance(status, dict) or not isinstance(status.get("status"), str):
        return None
    data = status.get("statusCodeData")
    return status["status"], data if isinstance(data, dict) else {}


def _tlv_field(function: str, body: dict[str, Any], name: str, tag: int) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise Es9ProtocolError(function, f"{name} is missing")
    try:
        der = base64.b64decode(value, validate=True)
        read_single_tlv(der, tag)
    except (binascii.Error, ValueError) as exc:
        raise Es9ProtocolError(function, f"{name} is not base64: {exc}") from None
    except TlvError as exc:
        raise Es9ProtocolError(function, f"{name}: {exc}") from None
    return der


def _transaction_id(function: str, body: dict[str, Any], expected: bytes | None = None) -> bytes:
    value = body.get("transactionId")
    if not isinstance(value, str):
        raise Es9ProtocolError(function, "transactionId is missing")
    try:
        transaction_id = bytes.fromhex(value)
    except ValueError:
        raise Es9ProtocolError(function, f"transactionId {value!r} is not hex") from None
    if not 1 <= len(transaction_id) <= 16:
        raise Es9ProtocolError(function, "transactionId must be 1 to 16 bytes")
    if expected is not None and transaction_id != expected:
        raise Es9ProtocolError(function, f"transactionId {value} is not this session's {to_hex(expected)}")
    return transaction_id
