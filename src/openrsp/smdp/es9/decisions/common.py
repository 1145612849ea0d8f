"""What every ES9+ decision shares: the SM-DP+'s setup, the Decision it returns, the checks of a
session's transactionId and state, and the effects collector that keeps the in-memory rows in step
with the effects it records."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from openrsp.asn1.tlv import encode_tlv
from openrsp.hexutil import to_hex
from openrsp.rspserver import status
from openrsp.rspserver import tokens as es9_tokens
from openrsp.rspserver.sealing import Sealer
from openrsp.rspserver.status import StatusCode
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9.credentials import signing_sets
from openrsp.smdp.es9.effects import Effect, MoveOrder, ReportProgress, SaveOrder, SaveSession
from openrsp.smdp.es9.views import OrderView, ProfileView, SessionRow, copied, tid
from openrsp.smdp.rsp_session import SessionEvent, SessionState, allows, next_state
from openrsp.smdp.states import Event, State
from openrsp.smdp.states import next_state as next_order_state

if TYPE_CHECKING:
    from openrsp.smdp.es9.decisions.bind import PackageToBuild

TAG_SIGNATURE = 0x5F37


@dataclass(frozen=True)
class Es9Setup:
    """What every decision may use besides the request and the snapshot: the SM-DP+'s address,
    credentials and KEK, the transactionId key, the session lifetime, randomness."""

    address: str
    credentials: Any  # openrsp.pki.credentials.SmdpCredentials (None: no ES9+ at all)
    sealer: Sealer
    session_ttl: timedelta
    rng: Callable[[int], bytes]

    @property
    def token_key(self) -> bytes:
        return self.sealer.subkey("es9-transaction")

    @property
    def oid(self) -> str:
        return str(getattr(self.credentials, "oid", ""))


@dataclass
class Decision:
    """The answer (or the error for the LPA) and the effects to store first, in order."""

    effects: list[Effect] = field(default_factory=list)
    answer: dict[str, Any] | PackageToBuild | None = None
    error: Es9Error | None = None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signature_tlv(signature: bytes) -> bytes:
    return encode_tlv(TAG_SIGNATURE, signature)


def issued_session(setup: Es9Setup, transaction_id: bytes, now: datetime) -> es9_tokens.IssuedSession:
    """What initiateAuthentication issued under this transactionId, if it did and it is still valid."""
    issued = es9_tokens.open_transaction_id(setup.token_key, transaction_id)
    if issued is None:
        raise status.UNKNOWN_TRANSACTION.error()
    if issued.set_index >= len(signing_sets(setup.credentials)):
        # The credentials changed under a live session (restart with other keys): it cannot go on.
        raise status.UNKNOWN_TRANSACTION.error("the session's CI is no longer configured")
    if now.timestamp() >= issued.issued_at + setup.session_ttl.total_seconds():
        raise status.UNKNOWN_TRANSACTION.error("the RSP session has expired")
    return issued


def new_session(setup: Es9Setup, transaction_id: bytes, issued: es9_tokens.IssuedSession) -> SessionRow:
    """The row of a session initiateAuthentication issued and nothing has stored yet."""
    ci_set = signing_sets(setup.credentials)[issued.set_index]
    issued_at = datetime.fromtimestamp(issued.issued_at, UTC)
    return SessionRow(
        transaction_id=tid(transaction_id),
        state=SessionState.INITIATED.value,
        eid=None,
        iccid=None,
        expires_at=issued_at + setup.session_ttl,
        data={"ci_pkid": to_hex(ci_set.ci_pkid)},
        updated_at=issued_at,
        stored=False,
    )


def expected_session(row: SessionRow | None, event: SessionEvent, now: datetime) -> SessionRow:
    """The RSP session, if it exists, has not expired and expects this call."""
    if row is None:
        raise status.UNKNOWN_TRANSACTION.error()
    state = SessionState(row.state)
    if state != SessionState.ENDED and row.expires_at is not None and now >= row.expires_at:
        raise status.UNKNOWN_TRANSACTION.error("the RSP session has expired")
    if not allows(state, event):
        raise status.UNKNOWN_TRANSACTION.error(f"{event.value} is not expected in session state {state}")
    return copied(row)


def copy_profile(profile: ProfileView) -> ProfileView:
    """The decision's own copy of a snapshot profile (it changes state and order fields as it goes)."""
    copy = copied(profile)
    if profile.order is not None:
        copy.order = copied(profile.order)
    return copy


_UNCHANGED: Any = object()  # expires_at not given: the row keeps its own


class Changes:
    """The effects a decision collects, in order, and the in-memory rows kept in step with them."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.effects: list[Effect] = []

    def move_session(self, row: SessionRow, event: SessionEvent, *, expires_at: Any = _UNCHANGED) -> None:
        """The session's next state (and what else changed in the row), written at once."""
        expected = row.state if row.stored else None
        new = next_state(SessionState(row.state), event)
        row.state = new.value
        row.updated_at = self.now
        if new == SessionState.ENDED:
            row.expires_at = self.now  # the next purge removes it
        elif expires_at is not _UNCHANGED:
            row.expires_at = expires_at
        saved = copied(row)
        saved.data = dict(row.data)
        self.effects.append(SaveSession(saved, expected))
        row.stored = True

    def move_order(
        self,
        profile: ProfileView,
        event: Event,
        *,
        detail: dict[str, Any] | None = None,
        progress: ProgressPoint | None = None,
    ) -> None:
        """The order's next state, expected from the state the profile has now (its copy goes into
        the effect, so later changes here do not alter what the UPDATE expects)."""
        self.effects.append(MoveOrder(copy_profile(profile), event, detail, progress))
        profile.state = next_order_state(State(profile.state), event).value

    def report(self, profile: ProfileView, point: ProgressPoint, event: str) -> None:
        self.effects.append(ReportProgress(copy_profile(profile), point, event))

    def save_order(self, order: OrderView, **values: Any) -> None:
        """These order columns, in the effect and on the decision's copy of the order."""
        for name, value in values.items():
            setattr(order, name, value)
        self.effects.append(SaveOrder(order.id, values))

    def fail_order(self, profile: ProfileView, code: StatusCode, detail: str, *, point_id: int) -> None:
        """The order cannot go on (expired, locked): it goes to Error, and the operator hears why."""
        point = ProgressPoint(point_id, success=False, status_code_data=status_data(code))
        reason = {"subjectCode": code.subject, "reasonCode": code.reason, "reason": detail}
        self.move_order(profile, Event.SESSION_FAILED, detail=reason, progress=point)
        self.forget_retry(profile)

    def forget_retry(self, profile: ProfileView) -> None:
        """The order is over (installed, failed): its one-time key binding must not serve again."""
        if profile.order is not None and profile.order.retry_binding is not None:
            self.save_order(profile.order, retry_binding=None)


def decided(now: datetime, step: Callable[[Changes], None]) -> Decision:
    """A decision that answers nothing but its effects: the effects `step` records, or, when it
    refuses with an Es9Error, that error and none of them."""
    changes = Changes(now)
    try:
        step(changes)
    except Es9Error as exc:
        return Decision(error=exc)
    return Decision(changes.effects, {})


def status_data(code: StatusCode) -> dict[str, str]:
    return {"subjectCode": code.subject, "reasonCode": code.reason, "message": code.message}
