"""The signed structures an LPA forwards from the eUICC, split into fields *and* the exact bytes signed.

Signatures cover DER as the eUICC produced it, so each parser keeps the raw TLVs (never a
re-encoding) next to the decoded values. Certificates stay raw DER here; only the small signed
parts go through the ASN.1 codec, which keeps the per-request cost low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrsp.asn1.tlv import Tlv, encode_tlv
from openrsp.rspserver import status
from openrsp.rspserver.wire import children, decode, single_tlv

TAG_SEQUENCE = 0x30
TAG_SIGNATURE = 0x5F37
TAG_CHOICE_OK = 0xA0
TAG_CHOICE_ERROR = 0xA1
TAG_AUTHENTICATE_SERVER_RESPONSE = 0xBF38
TAG_PREPARE_DOWNLOAD_RESPONSE = 0xBF21
TAG_PROFILE_INSTALLATION_RESULT = 0xBF37
TAG_PROFILE_INSTALLATION_RESULT_DATA = 0xBF27
TAG_NOTIFICATION_METADATA = 0xBF2F
TAG_CANCEL_SESSION_RESPONSE = 0xBF41
TAG_CANCEL_SESSION_ERROR = 0x81


@dataclass(frozen=True)
class SignedPart:
    """A structure the eUICC signed: raw DER, its decoded value, and the 5F37 TLV that signs it."""

    raw: bytes
    value: dict[str, Any]
    signature_tlv: bytes  # 5F37 tag, length and r||s, as received

    @property
    def signature(self) -> bytes:
        return single_tlv(self.signature_tlv, "signature", TAG_SIGNATURE).value


@dataclass(frozen=True)
class EuiccRefusal:
    """The eUICC answered with an error code instead of a signed structure."""

    transaction_id: bytes | None
    code: int


@dataclass(frozen=True)
class AuthenticateServerOk:
    signed1: SignedPart  # EuiccSigned1 + euiccSignature1
    euicc_certificate: bytes
    eum_certificate: bytes


@dataclass(frozen=True)
class OtherSignedNotification:
    tbs: SignedPart  # NotificationMetadata (BF2F) + euiccNotificationSignature
    euicc_certificate: bytes
    eum_certificate: bytes


def _expect(items: list[Tlv], tags: list[int], field: str) -> None:
    found = [t.tag for t in items]
    if found[: len(tags)] != tags:
        shown = " ".join(f"{t:X}" for t in found) or "nothing"
        raise status.INVALID_INPUT.error(f"{field}: unexpected structure ({shown})")


def _signed(items: list[Tlv], type_name: str, field: str) -> SignedPart:
    return SignedPart(items[0].raw, decode(type_name, items[0].raw, field), items[1].raw)


def _choice(der: bytes, outer_tag: int, field: str) -> Tlv:
    outer = single_tlv(der, field, outer_tag)
    inner = children(outer, field)
    if len(inner) != 1:
        raise status.INVALID_INPUT.error(f"{field}: expected one choice inside {outer_tag:X}")
    return inner[0]


def _refusal(wrapped: bytes, type_name: str, field: str) -> EuiccRefusal:
    value = decode(type_name, wrapped, field)
    return EuiccRefusal(value[1].get("transactionId"), int(value[1][_error_code_field(type_name)]))


def _error_code_field(type_name: str) -> str:
    return "authenticateErrorCode" if type_name == "AuthenticateServerResponse" else "downloadErrorCode"


def parse_authenticate_server_response(der: bytes) -> AuthenticateServerOk | EuiccRefusal:
    field = "authenticateServerResponse"
    choice = _choice(der, TAG_AUTHENTICATE_SERVER_RESPONSE, field)
    if choice.tag == TAG_CHOICE_ERROR:
        return _refusal(_wrap(TAG_AUTHENTICATE_SERVER_RESPONSE, choice), "AuthenticateServerResponse", field)
    if choice.tag != TAG_CHOICE_OK:
        raise status.INVALID_INPUT.error(f"{field}: unknown choice {choice.tag:X}")
    items = children(choice, field)
    _expect(items, [TAG_SEQUENCE, TAG_SIGNATURE, TAG_SEQUENCE, TAG_SEQUENCE], field)
    return AuthenticateServerOk(_signed(items, "EuiccSigned1", field), items[2].raw, items[3].raw)


def parse_prepare_download_response(der: bytes) -> SignedPart | EuiccRefusal:
    """EUICCSigned2 with euiccSignature2, or the eUICC's refusal."""
    field = "prepareDownloadResponse"
    choice = _choice(der, TAG_PREPARE_DOWNLOAD_RESPONSE, field)
    if choice.tag == TAG_CHOICE_ERROR:
        return _refusal(_wrap(TAG_PREPARE_DOWNLOAD_RESPONSE, choice), "PrepareDownloadResponse", field)
    if choice.tag != TAG_CHOICE_OK:
        raise status.INVALID_INPUT.error(f"{field}: unknown choice {choice.tag:X}")
    items = children(choice, field)
    _expect(items, [TAG_SEQUENCE, TAG_SIGNATURE], field)
    return _signed(items, "EUICCSigned2", field)


def parse_pending_notification(der: bytes) -> SignedPart | OtherSignedNotification:
    """A ProfileInstallationResult (its data BF27 signed) or an OtherSignedNotification."""
    field = "pendingNotification"
    outer = single_tlv(der, field)
    items = children(outer, field)
    if outer.tag == TAG_PROFILE_INSTALLATION_RESULT:
        _expect(items, [TAG_PROFILE_INSTALLATION_RESULT_DATA, TAG_SIGNATURE], field)
        return _signed(items, "ProfileInstallationResultData", field)
    if outer.tag == TAG_SEQUENCE:
        _expect(items, [TAG_NOTIFICATION_METADATA, TAG_SIGNATURE, TAG_SEQUENCE, TAG_SEQUENCE], field)
        return OtherSignedNotification(
            _signed(items, "NotificationMetadata", field), items[2].raw, items[3].raw
        )
    raise status.INVALID_INPUT.error(
        f"{field}: neither a ProfileInstallationResult nor a signed notification"
    )


def parse_cancel_session_response(der: bytes) -> SignedPart | EuiccRefusal:
    """EuiccCancelSessionSigned with its signature, or the eUICC's error code."""
    field = "cancelSessionResponse"
    choice = _choice(der, TAG_CANCEL_SESSION_RESPONSE, field)
    if choice.tag == TAG_CANCEL_SESSION_ERROR:
        return EuiccRefusal(None, int.from_bytes(choice.value, "big", signed=True) if choice.value else 127)
    if choice.tag != TAG_CHOICE_OK:
        raise status.INVALID_INPUT.error(f"{field}: unknown choice {choice.tag:X}")
    items = children(choice, field)
    _expect(items, [TAG_SEQUENCE, TAG_SIGNATURE], field)
    return _signed(items, "EuiccCancelSessionSigned", field)


def _wrap(tag: int, choice: Tlv) -> bytes:
    """The outer [tag] CHOICE around one alternative, to decode it with the codec."""
    return encode_tlv(tag, choice.raw)
