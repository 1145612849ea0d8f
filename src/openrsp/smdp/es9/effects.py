"""What an ES9+ decision asks the storage to write: plain, frozen values, applied in order in the
call's transaction (es9/store.py). Each carries what its conditional write checks (the state it
expects), so a call that lost a race to another fails as a whole and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9.views import ProfileView, SessionRow
from openrsp.smdp.states import Event


@dataclass(frozen=True)
class PurgeExpiredSessions:
    """Sweep away sessions that expired before `now` (now and then, not on every call)."""

    now: datetime


@dataclass(frozen=True)
class SaveSession:
    """Insert the session (row.stored is False: a duplicate transactionId is a conflict) or update
    it where it is still in `expected_state`."""

    row: SessionRow
    expected_state: str | None


@dataclass(frozen=True)
class MoveOrder:
    """The profile's next state along states.py's table, from `profile.state` (the state expected
    by the conditional UPDATE), with its events row and progress report (None: the event's default
    point; False: none)."""

    profile: ProfileView
    event: Event
    detail: dict[str, Any] | None = None
    progress: ProgressPoint | Literal[False] | None = None


@dataclass(frozen=True)
class ReportProgress:
    """A step that changes no state (eligibility check, confirmation code failure)."""

    profile: ProfileView
    point: ProgressPoint
    event: str


@dataclass(frozen=True)
class SaveOrder:
    """These columns of the order (eid, attempts, retry binding ...)."""

    order_id: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RecordNotification:
    """A notification row, skipped when this eUICC's notification with this seqNumber is stored."""

    event: str
    raw: bytes
    seq: int | None
    eid: str | None
    iccid: str | None
    result: str | None = None


Effect = PurgeExpiredSessions | SaveSession | MoveOrder | ReportProgress | SaveOrder | RecordNotification


@dataclass
class Applied:
    """What applying the effects found: notifications skipped as replays."""

    notifications_skipped: int = 0
