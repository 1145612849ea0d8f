"""ES10b notification functions (SGP.22 §5.7.9-5.7.11): ListNotification, RetrieveNotificationsList,
RemoveNotificationFromList. The notifications themselves are built and kept by notifications.py.
"""

from __future__ import annotations

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import encode_tlv
from openrsp.euicc.bits import decode_bits
from openrsp.euicc.core import Euicc
from openrsp.euicc.notifications import notification_metadata
from openrsp.euicc.requests import decode_request
from openrsp.euicc.state import EVENTS, Notification


def _matches(notification: Notification, events: list[str] | None) -> bool:
    return events is None or notification.event in events


def list_notification(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("ListNotificationRequest", request)
    events = (
        decode_bits(value["profileManagementOperation"], EVENTS)
        if "profileManagementOperation" in value
        else None
    )
    items = [
        notification_metadata(n.seq_number, n.event, n.address, n.iccid)
        for n in euicc.state.notifications
        if _matches(n, events)
    ]
    return rsp().encode("ListNotificationResponse", ("notificationMetadataList", items))


def retrieve_notifications_list(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("RetrieveNotificationsListRequest", request)
    criteria = value.get("searchCriteria")
    found = euicc.state.notifications
    if criteria is not None:
        kind, wanted = criteria
        if kind == "seqNumber":
            found = [n for n in found if n.seq_number == wanted]
        else:
            events = decode_bits(wanted, EVENTS)
            found = [n for n in found if n.event in events]
        if not found:
            return rsp().encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 1))
    # The stored bytes are exactly what was signed; splice them in rather than re-encoding.
    return encode_tlv(0xBF2B, encode_tlv(0xA0, b"".join(n.pending for n in found)))


def remove_notification_from_list(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("NotificationSentRequest", request)
    number = value["seqNumber"]
    if not any(n.seq_number == number for n in euicc.state.notifications):
        return rsp().encode("NotificationSentResponse", {"deleteNotificationStatus": 1})
    with euicc.transaction() as state:
        state.notifications = [n for n in state.notifications if n.seq_number != number]
    return rsp().encode("NotificationSentResponse", {"deleteNotificationStatus": 0})
