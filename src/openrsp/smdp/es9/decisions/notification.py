"""handleNotification (SGP.22 §5.6.4): the install result of a bound session (order Installed or
failed, session ended), and the other notifications, recorded when they verify."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openrsp.asn1.rsp_types import (
    BppCommandId,
    ErrorReason,
    NotificationEvent,
    bits_set,
    code_name,
    iccid_from_bytes,
)
from openrsp.pki.verify import aki_of
from openrsp.rspserver import status
from openrsp.rspserver.messages import OtherSignedNotification, SignedPart
from openrsp.rspserver.verify import load_certificate, public_key_for, verify_euicc_chain, verify_signature
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9.credentials import signing_sets
from openrsp.smdp.es9.decisions.common import (
    Changes,
    Decision,
    Es9Setup,
    b64,
    copy_profile,
    decided,
    expected_session,
)
from openrsp.smdp.es9.effects import RecordNotification
from openrsp.smdp.es9.views import SessionSnapshot
from openrsp.smdp.rsp_session import SessionEvent
from openrsp.smdp.states import Event, State


def decide_install_result(
    setup: Es9Setup, now: datetime, result: SignedPart, der: bytes, snapshot: SessionSnapshot
) -> Decision:
    """The ProfileInstallationResult of a bound session: recorded, the order Installed (or
    failed), the session ended. One that does not verify or does not match changes nothing."""
    return decided(now, lambda changes: _install_result(setup, changes, result, der, snapshot))


def _install_result(
    setup: Es9Setup, changes: Changes, result: SignedPart, der: bytes, snapshot: SessionSnapshot
) -> None:
    data = result.value
    row = expected_session(snapshot.session, SessionEvent.INSTALL_RESULT, changes.now)
    key = public_key_for(row.data["curve"], bytes.fromhex(row.data["euicc_key"]))
    verify_signature(key, result.raw, result.signature, "euiccSignPIR")  # a forgery ends nothing
    smdp_oid = data.get("smdpOid")
    if smdp_oid and smdp_oid != setup.oid:
        raise status.INVALID_SMDP_OID.error(f"{smdp_oid} is not this SM-DP+'s OID")
    metadata = data["notificationMetadata"]
    iccid = iccid_from_bytes(metadata["iccid"]) if metadata.get("iccid") else row.iccid
    if iccid != row.iccid:
        raise status.INVALID_INPUT.error(f"the result is for ICCID {iccid}, the session for {row.iccid}")
    kind, outcome = data["finalResult"]
    success = kind == "successResult"
    summary = "installed" if success else _install_error(outcome)
    changes.effects.append(  # the session decides what happens; a duplicate row is skipped
        RecordNotification(
            event="install",
            raw=der,
            seq=sequence_number(metadata),
            eid=row.eid,
            iccid=row.iccid,
            result=summary,
        )
    )
    profile = copy_profile(snapshot.profile) if snapshot.profile is not None else None
    if profile is not None and profile.state == State.DOWNLOADED:
        point = ProgressPoint(4, success=success, result_data=b64(der))
        event = Event.INSTALLED if success else Event.INSTALL_FAILED
        changes.move_order(profile, event, detail={"result": summary}, progress=point)
        changes.forget_retry(profile)
    changes.move_session(row, SessionEvent.INSTALL_RESULT)


def decide_other_notification(
    setup: Es9Setup, now: datetime, notification: OtherSignedNotification, der: bytes
) -> Decision:
    """Enable/disable/delete (and other) notifications: recorded when signed by an eUICC we can
    verify; they need no snapshot (a replay is skipped when stored)."""
    try:
        effect = _other_notification(setup, now, notification, der)
    except Es9Error as exc:
        return Decision(error=exc)
    return Decision([effect], {})


def _other_notification(
    setup: Es9Setup, now: datetime, notification: OtherSignedNotification, der: bytes
) -> RecordNotification:
    eum = load_certificate(notification.eum_certificate, status.INVALID_EUM_CERT)
    ci_set = next((s for s in signing_sets(setup.credentials) if s.ci_pkid == aki_of(eum)), None)
    if ci_set is None:
        raise status.UNKNOWN_CI_KEY.error("the EUM certificate is not issued by a CI this SM-DP+ trusts")
    euicc = verify_euicc_chain(
        notification.euicc_certificate, notification.eum_certificate, ci_set.ci_cert, ci_set.ci_pkid, now
    )
    tbs = notification.tbs
    verify_signature(euicc.public_key, tbs.raw, tbs.signature, "euiccNotificationSignature")
    metadata = tbs.value
    events = bits_set(metadata["profileManagementOperation"])
    name = ",".join(NotificationEvent(bit).name.lower() for bit in sorted(events) if bit < 4) or "other"
    iccid = iccid_from_bytes(metadata["iccid"]) if metadata.get("iccid") else None
    return RecordNotification(event=name, raw=der, seq=sequence_number(metadata), eid=euicc.eid, iccid=iccid)


def _install_error(outcome: dict[str, Any]) -> str:
    command = code_name(BppCommandId, int(outcome["bppCommandId"]))
    reason = code_name(ErrorReason, int(outcome["errorReason"]))
    return f"error: {reason} in {command}"


def sequence_number(metadata: dict[str, Any]) -> int | None:
    """The notification's seqNumber, within what the notifications table holds (32 bits)."""
    seq = metadata.get("seqNumber")
    if seq is not None and not 0 <= seq < 1 << 31:
        raise status.INVALID_INPUT.error(f"seqNumber {seq} is out of range")
    return seq
