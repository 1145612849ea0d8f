"""The audit trail: every state change and progress report of a profile, in order (table `events`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from openrsp.smdp.db.models import EventLog

_events = EventLog.__table__
_OF_ICCID = select(*_events.c).where(_events.c.iccid == bindparam("iccid")).order_by(_events.c.id)


@dataclass(frozen=True)
class EventRow:
    id: int
    iccid: str
    event: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]
    created_at: datetime


def events(connection: Connection, iccid: str) -> list[EventRow]:
    """The profile's events, oldest first (they outlive the profile: see profiles.remove_profiles)."""
    return [EventRow(**row) for row in connection.execute(_OF_ICCID, {"iccid": iccid}).mappings()]
