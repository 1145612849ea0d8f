"""cancelSession (SGP.22 §5.6.5): the session ends; the order goes back to Released for a reason
allowing a retry, or to Error."""

from __future__ import annotations

from datetime import datetime

from openrsp.asn1.rsp_types import CancelSessionReason, code_name
from openrsp.rspserver import status
from openrsp.rspserver.messages import EuiccRefusal, SignedPart
from openrsp.rspserver.verify import public_key_for, verify_signature
from openrsp.smdp.es9.decisions.common import (
    Changes,
    Decision,
    Es9Setup,
    copy_profile,
    decided,
    expected_session,
    issued_session,
    new_session,
)
from openrsp.smdp.es9.views import ProfileView, SessionRow, SessionSnapshot
from openrsp.smdp.rsp_session import SessionEvent, SessionState
from openrsp.smdp.states import Event, State

# cancelSession reasons after which the user may simply try again; any other ends the order.
RETRYABLE_CANCEL = (CancelSessionReason.postponed, CancelSessionReason.timeout)


def decide_cancel(
    setup: Es9Setup,
    now: datetime,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> Decision:
    # a refused cancellation ends nothing
    return decided(now, lambda changes: _cancel(setup, changes, transaction_id, response, snapshot))


def _cancel(
    setup: Es9Setup,
    changes: Changes,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> None:
    if snapshot.session is None:
        # Cancelled before authenticateClient: a session this SM-DP+ issued, never stored yet.
        row = new_session(setup, transaction_id, issued_session(setup, transaction_id, changes.now))
    else:
        row = expected_session(snapshot.session, SessionEvent.CANCEL, changes.now)
    if isinstance(response, EuiccRefusal):
        raise status.EUICC_REPORTED_ERROR.error(f"CancelSession failed ({response.code})")
    signed = response.value
    if signed["transactionId"] != transaction_id:
        raise status.UNKNOWN_TRANSACTION.error("euiccCancelSessionSigned names another transactionId")
    if "euicc_key" in row.data:
        # Before authenticateClient the session knows no eUICC key; nothing was issued to protect.
        key = public_key_for(row.data["curve"], bytes.fromhex(row.data["euicc_key"]))
        verify_signature(key, response.raw, response.signature, "euiccCancelSessionSignature")
    if signed["smdpOid"] != setup.oid:
        raise status.INVALID_SMDP_OID.error(f"{signed['smdpOid']} is not this SM-DP+'s OID")
    reason = int(signed["reason"])
    profile = copy_profile(snapshot.profile) if row.iccid and snapshot.profile is not None else None
    if profile is not None and _holds_order(row, profile):
        event = Event.SESSION_RETRYABLE if reason in RETRYABLE_CANCEL else Event.SESSION_FAILED
        detail = {"cancelSessionReason": code_name(CancelSessionReason, reason)}
        changes.move_order(profile, event, detail=detail)
        if event == Event.SESSION_FAILED:
            changes.forget_retry(profile)
        # a retryable end keeps order.retry_binding: the next session offers the same otPK back
    changes.move_session(row, SessionEvent.CANCEL)


def _holds_order(row: SessionRow, profile: ProfileView) -> bool:
    """Whether this session's fate is the order's: it bound it, or it is the one about to."""
    if row.state == SessionState.BOUND.value:
        return profile.state == State.DOWNLOADED
    version = row.data.get("order_version")
    order = profile.order
    return bool(version and order is not None and version == [profile.state, order.download_attempts])
