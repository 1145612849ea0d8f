"""Notifications: the signed install results and the other signed notifications. The ES10b
functions that list, hand out and remove them are in es10b_notifications.py.

Every notification takes the next sequence number of the eUICC and is signed when it is made, so
what the LPA later retrieves is exactly what was signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import iccid_to_bytes
from openrsp.asn1.tlv import encode_tlv
from openrsp.euicc.bits import encode_bits
from openrsp.euicc.core import Euicc, SessionContext
from openrsp.euicc.state import EVENTS, EuiccState, Notification, Profile

TAG_SIGNATURE = 0x5F37


@dataclass(frozen=True)
class NotificationResult:
    notification: Notification
    pending: bytes  # the DER handed to the LPA (BF37 or OtherSignedNotification)


def notification_metadata(seq_number: int, event: str, address: str, iccid: str | None) -> dict[str, object]:
    value: dict[str, object] = {
        "seqNumber": seq_number,
        "profileManagementOperation": encode_bits([event], EVENTS),
        "notificationAddress": address,
    }
    if iccid is not None:
        value["iccid"] = iccid_to_bytes(iccid)
    return value


def _take_seq_number(state: EuiccState) -> int:
    number = state.next_seq_number
    state.next_seq_number += 1
    return number


def build_install_result(
    euicc: Euicc,
    state: EuiccState,
    ctx: SessionContext,
    *,
    iccid: str | None,
    success: tuple[bytes, bytes] | None = None,
    error: tuple[int, int] | None = None,
    error_sima_response: bytes | None = None,
    seq_number: int | None = None,
) -> NotificationResult:
    """ProfileInstallationResult (BF37) signed with the session's eUICC key.

    success = (ISD-P AID, simaResponse); error = (bppCommandId, errorReason). The sequence number is
    taken from `state` unless given (a result that will not be stored uses 0). An error may carry
    an EUICCResponse (`error_sima_response`) that says in words why the eUICC stopped.
    """
    number = _take_seq_number(state) if seq_number is None else seq_number
    if success is not None:
        final = ("successResult", {"aid": success[0], "simaResponse": success[1]})
    else:
        assert error is not None
        outcome: dict[str, object] = {"bppCommandId": error[0], "errorReason": error[1]}
        if error_sima_response is not None:
            outcome["simaResponse"] = error_sima_response
        final = ("errorResult", outcome)
    address = ctx.server_address
    data: dict[str, object] = {
        "transactionId": ctx.transaction_id,
        "notificationMetadata": notification_metadata(number, "install", address, iccid),
        "finalResult": final,
    }
    if ctx.dppb_oid:
        data["smdpOid"] = ctx.dppb_oid
    data_der = rsp().encode("ProfileInstallationResultData", data)
    identity = ctx.identity or euicc.default_identity()
    signature = euicc.sign(identity, data_der)
    pending = encode_tlv(0xBF37, data_der + encode_tlv(TAG_SIGNATURE, signature))
    return NotificationResult(Notification(number, "install", address, iccid, pending), pending)


def build_other_notification(
    euicc: Euicc, state: EuiccState, profile: Profile, event: str
) -> NotificationResult | None:
    """OtherSignedNotification for enable/disable/delete, when the profile asks for one."""
    address = profile.address_for(event)
    if address is None:
        return None
    number = _take_seq_number(state)
    tbs = rsp().encode("NotificationMetadata", notification_metadata(number, event, address, profile.iccid))
    identity = euicc.default_identity()
    signature = euicc.sign(identity, tbs)
    # OtherSignedNotification ::= SEQUENCE { tbsOtherNotification, 5F37, euiccCertificate, eumCertificate }
    body = tbs + encode_tlv(TAG_SIGNATURE, signature) + identity.euicc_certificate + identity.eum_certificate
    pending = encode_tlv(0x30, body)
    return NotificationResult(Notification(number, event, address, profile.iccid, pending), pending)


def store_notification(state: EuiccState, result: NotificationResult | None) -> None:
    if result is not None:
        state.notifications.append(result.notification)
