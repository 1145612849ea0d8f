"""The one writer of order state changes, for every caller (ES9+, ES2+, admin, inventory): the state
table (states.py) gives the next state; a conditional UPDATE (`… WHERE state = :expected`) writes it,
so of two racing callers exactly one moves the profile and the other gets StateConflict; an `events`
row records it; the operator's progress report and, when the order ends, the deletion of its SM-DS
event are outbox rows in the same transaction. Prepared statements (db/prepared.py) run by a Cursor
(db/transactions.py) on the caller's transaction: the ES9+ store passes its Cursor, ES2+ and the
command line their SQLAlchemy Connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, and_, bindparam, insert, update

from openrsp.smdp import smds_events
from openrsp.smdp.db.models import EventLog, OutboxItem, Profile
from openrsp.smdp.db.prepared import Prepared
from openrsp.smdp.db.transactions import Cursor
from openrsp.smdp.errors import StateConflict
from openrsp.smdp.es2 import progress
from openrsp.smdp.es2.points import DEFAULT_PROGRESS, ProgressPoint, ProgressRecord
from openrsp.smdp.rows import ProfileRow

if TYPE_CHECKING:
    from openrsp.smdp.es9.views import ProfileView
from openrsp.smdp.states import Event, State, next_state

_profiles = Profile.__table__
_MOVE_PROFILE = Prepared(
    update(_profiles)
    .where(and_(_profiles.c.id == bindparam("profile_id"), _profiles.c.state == bindparam("expected")))
    .values(state=bindparam("new_state"), updated_at=bindparam("now"))
)
_INSERT_EVENT = Prepared(insert(EventLog.__table__))
_INSERT_OUTBOX = Prepared(insert(OutboxItem.__table__))


@dataclass(frozen=True)
class Subject:
    """What a state change needs to know of the profile, its operator and its order."""

    id: int
    iccid: str
    state: str
    profile_type: str
    operator_name: str
    callback_url: str | None
    order: Any  # OrderView or OrderRow (eid, matching_id, smds_address), or None


def subject_of(profile: ProfileRow | ProfileView) -> Subject:
    """The Subject of a profile read by db/profiles.py (ProfileRow) or by the ES9+ store (ProfileView)."""
    return Subject(
        id=profile.id,
        iccid=profile.iccid,
        state=profile.state,
        profile_type=profile.profile_type,
        operator_name=profile.operator_name,
        callback_url=profile.callback_url,
        order=profile.order,
    )


def _cursor(on: Connection | Cursor) -> Cursor:
    return on if isinstance(on, Cursor) else Cursor(on)


def move(
    on: Connection | Cursor,
    subject: Subject,
    event_: Event,
    now: datetime,
    *,
    detail: dict[str, Any] | None = None,
    point: ProgressPoint | Literal[False] | None = None,
) -> State:
    """Move the profile along the state table; its new state. `point`: None reports the event's
    default progress point (DEFAULT_PROGRESS), False none, a ProgressPoint that one."""
    cursor = _cursor(on)
    current = State(subject.state)
    new = next_state(current, event_)
    changed = cursor.execute(
        _MOVE_PROFILE,
        {"profile_id": subject.id, "expected": current.value, "new_state": new.value, "now": now},
    )
    if changed != 1:
        raise StateConflict(subject.iccid, current.value)
    name = Event(event_).value
    _log_event(cursor, subject.iccid, name, current.value, new.value, dict(detail or {}), now)
    chosen = DEFAULT_PROGRESS.get(Event(event_)) if point is None else point
    if chosen:
        _queue_report(cursor, subject, name, current.value, new.value, chosen, now)
    deletion = smds_events.deletion_values(subject.order, now) if new in smds_events.END_STATES else None
    if deletion is not None:  # the order ended: so does its event at the SM-DS
        cursor.execute(_INSERT_OUTBOX, deletion)
    return new


def report(
    on: Connection | Cursor, subject: Subject, point: ProgressPoint, event_: str, now: datetime
) -> None:
    """A step that changes no state (eligibility check, confirmation code failure)."""
    cursor = _cursor(on)
    detail = {"notificationPointId": point.point_id, "success": point.success}
    _log_event(cursor, subject.iccid, event_, subject.state, subject.state, detail, now)
    _queue_report(cursor, subject, event_, subject.state, subject.state, point, now)


def _log_event(
    cursor: Cursor,
    iccid: str,
    event_: str,
    from_state: str,
    to_state: str,
    detail: dict,
    at: datetime,
) -> None:
    values = {"iccid": iccid, "event": event_, "from_state": from_state, "to_state": to_state}
    cursor.execute(_INSERT_EVENT, {**values, "detail": detail, "created_at": at})


def _queue_report(
    cursor: Cursor,
    subject: Subject,
    event_: str,
    from_state: str,
    to_state: str,
    point: ProgressPoint,
    now: datetime,
) -> None:
    record = ProgressRecord(
        iccid=subject.iccid,
        operator=subject.operator_name,
        callback_url=subject.callback_url,
        profile_type=subject.profile_type,
        eid=subject.order.eid if subject.order is not None else None,
        event=event_,
        from_state=from_state,
        to_state=to_state,
        at=now,
        point=point,
    )
    values = progress.outbox_values(record, now)
    if values is not None:  # durable: in this transaction, delivered by any live node
        cursor.execute(_INSERT_OUTBOX, values)
