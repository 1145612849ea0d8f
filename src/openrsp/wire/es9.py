"""The ES9+ (and ES11) JSON binding of SGP.22 §6.5, pure: request/response dicts <-> typed values.

Binary fields travel as base64 of their DER (each a complete TLV, checked for its tag), transactionId
as hex. Every check is bounded and linear in the input. Used by the LPA's HTTP driver; the servers
may use the same functions. Failures are `Es9WireError(function, detail)`; a response whose header
says "Failed" decodes to a `FunctionStatus` the caller turns into its own error.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from openrsp.asn1.tlv import TlvError, read_single_tlv
from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex

MAX_TRANSACTION_ID = 16
MAX_EVENTS = 1000  # an SM-DS that answers more is not worth listening to
MAX_EVENT_FIELD = 255

TAG_SEQUENCE = 0x30
TAG_SIGNATURE = 0x5F37
TAG_OCTET_STRING = 0x04
TAG_STORE_METADATA = 0xBF25
TAG_BPP = 0xBF36


class Es9WireError(OpenRSPError):
    """A request or response body that is not the ES9+/ES11 JSON binding of `function`."""

    def __init__(self, function: str, detail: str) -> None:
        super().__init__(f"{function}: {detail}")
        self.function = function
        self.detail = detail


@dataclass(frozen=True)
class FunctionStatus:
    """header.functionExecutionStatus: "Executed-Success", "Executed-WithWarning" or "Failed"."""

    status: str
    subject_code: str = ""
    reason_code: str = ""
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "Failed"


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


@dataclass(frozen=True)
class EventEntry:
    event_id: str
    rsp_server_address: str


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- requests (LPA -> server) ---------------------------------------------------------------------
def initiate_authentication_request(
    euicc_challenge: bytes, euicc_info1: bytes, server_address: str, *, es11: bool = False
) -> dict[str, Any]:
    """ES9+ names the server `smdpAddress`, ES11 `smdsAddress`."""
    return {
        "euiccChallenge": b64(euicc_challenge),
        "euiccInfo1": b64(euicc_info1),
        "smdsAddress" if es11 else "smdpAddress": server_address,
    }


def authenticate_client_request(transaction_id: bytes, authenticate_server_response: bytes) -> dict[str, Any]:
    return {
        "transactionId": to_hex(transaction_id),
        "authenticateServerResponse": b64(authenticate_server_response),
    }


def get_bound_profile_package_request(
    transaction_id: bytes, prepare_download_response: bytes
) -> dict[str, Any]:
    return {
        "transactionId": to_hex(transaction_id),
        "prepareDownloadResponse": b64(prepare_download_response),
    }


def handle_notification_request(pending_notification: bytes) -> dict[str, Any]:
    return {"pendingNotification": b64(pending_notification)}


def cancel_session_request(transaction_id: bytes, cancel_session_response: bytes) -> dict[str, Any]:
    return {"transactionId": to_hex(transaction_id), "cancelSessionResponse": b64(cancel_session_response)}


# --- responses (server -> LPA) --------------------------------------------------------------------
def function_status(body: Any) -> FunctionStatus | None:
    """The header's execution status, or None when the body has no well-formed header."""
    if not isinstance(body, dict):
        return None
    header = body.get("header")
    status = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    if not isinstance(status, dict) or not isinstance(status.get("status"), str):
        return None
    data = status.get("statusCodeData")
    data = data if isinstance(data, dict) else {}
    return FunctionStatus(
        status["status"],
        str(data.get("subjectCode", "?")),
        str(data.get("reasonCode", "?")),
        str(data.get("message", "")),
    )


def decode_initiate_authentication(function: str, body: dict[str, Any]) -> InitiateAuthenticationResult:
    return InitiateAuthenticationResult(
        transaction_id=transaction_id_field(function, body),
        server_signed1=tlv_field(function, body, "serverSigned1", TAG_SEQUENCE),
        server_signature1=tlv_field(function, body, "serverSignature1", TAG_SIGNATURE),
        euicc_ci_pkid_to_be_used=tlv_field(function, body, "euiccCiPKIdToBeUsed", TAG_OCTET_STRING),
        server_certificate=tlv_field(function, body, "serverCertificate", TAG_SEQUENCE),
    )


def decode_authenticate_client(
    function: str, body: dict[str, Any], transaction_id: bytes
) -> AuthenticateClientResult:
    return AuthenticateClientResult(
        transaction_id=transaction_id_field(function, body, transaction_id),
        profile_metadata=tlv_field(function, body, "profileMetadata", TAG_STORE_METADATA),
        smdp_signed2=tlv_field(function, body, "smdpSigned2", TAG_SEQUENCE),
        smdp_signature2=tlv_field(function, body, "smdpSignature2", TAG_SIGNATURE),
        smdp_certificate=tlv_field(function, body, "smdpCertificate", TAG_SEQUENCE),
    )


def decode_bound_profile_package(function: str, body: dict[str, Any], transaction_id: bytes) -> bytes:
    transaction_id_field(function, body, transaction_id)
    return tlv_field(function, body, "boundProfilePackage", TAG_BPP)


def decode_event_entries(function: str, body: dict[str, Any], transaction_id: bytes) -> list[EventEntry]:
    """ES11 AuthenticateClient's answer: the events waiting for this eUICC."""
    transaction_id_field(function, body, transaction_id)
    entries = body.get("eventEntries", [])
    if not isinstance(entries, list) or len(entries) > MAX_EVENTS:
        raise Es9WireError(function, "eventEntries must be a list (of at most 1000 events)")
    events = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise Es9WireError(function, "an eventEntries item is not an object")
        event_id, address = entry.get("eventId"), entry.get("rspServerAddress")
        if not isinstance(event_id, str) or not isinstance(address, str):
            raise Es9WireError(function, "an event lacks eventId or rspServerAddress")
        if not 0 < len(event_id) <= MAX_EVENT_FIELD or not 0 < len(address) <= MAX_EVENT_FIELD:
            raise Es9WireError(function, "eventId and rspServerAddress must be 1 to 255 characters")
        events.append(EventEntry(event_id, address))
    return events


# --- fields -----------------------------------------------------------------------------------------
def tlv_field(function: str, body: dict[str, Any], name: str, tag: int) -> bytes:
    """A base64 field holding exactly one DER TLV of `tag`."""
    value = body.get(name)
    if not isinstance(value, str):
        raise Es9WireError(function, f"{name} is missing")
    try:
        der = base64.b64decode(value, validate=True)
        read_single_tlv(der, tag)
    except (binascii.Error, ValueError) as exc:
        raise Es9WireError(function, f"{name} is not base64: {exc}") from None
    except TlvError as exc:
        raise Es9WireError(function, f"{name}: {exc}") from None
    return der


def transaction_id_field(function: str, body: dict[str, Any], expected: bytes | None = None) -> bytes:
    value = body.get("transactionId")
    if not isinstance(value, str):
        raise Es9WireError(function, "transactionId is missing")
    if len(value) > 2 * MAX_TRANSACTION_ID:
        raise Es9WireError(function, "transactionId must be 1 to 16 bytes")
    try:
        transaction_id = bytes.fromhex(value)
    except ValueError:
        raise Es9WireError(function, f"transactionId {value!r} is not hex") from None
    if not 1 <= len(transaction_id) <= MAX_TRANSACTION_ID:
        raise Es9WireError(function, "transactionId must be 1 to 16 bytes")
    if expected is not None and transaction_id != expected:
        raise Es9WireError(function, f"transactionId {value} is not this session's {to_hex(expected)}")
    return transaction_id
