"""Short ways for tests to read and move profiles through the storage modules (smdp/db/)."""

from __future__ import annotations

from typing import Any

from openrsp.smdp.db import events, order_moves, profiles
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.rows import ProfileRow
from openrsp.smdp.states import Event, State


def profile(database: SmdpDatabase, iccid: str) -> ProfileRow:
    with database.transaction() as connection:
        found = profiles.get_profile(connection, iccid)
    assert found is not None, iccid
    return found


def move(
    database: SmdpDatabase,
    iccid: str,
    event_: Event,
    *,
    point: ProgressPoint | bool | None = None,
    stale: ProfileRow | None = None,
) -> State:
    """One state change in its own transaction, through db/order_moves.py; `stale`: move from this
    (old) read of the profile instead of a fresh one."""
    with database.transaction() as connection:
        row = stale or profiles.get_profile(connection, iccid, lock=True)
        assert row is not None, iccid
        return order_moves.move(
            connection, order_moves.subject_of(row), event_, database.clock(), point=point
        )


def report(database: SmdpDatabase, iccid: str, point: ProgressPoint, event_: str) -> None:
    with database.transaction() as connection:
        row = profiles.get_profile(connection, iccid, lock=True)
        assert row is not None, iccid
        order_moves.report(connection, order_moves.subject_of(row), point, event_, database.clock())


def event_names(database: SmdpDatabase, iccid: str) -> list[str]:
    with database.transaction() as connection:
        return [row.event for row in events.events(connection, iccid)]


def inventory(database: SmdpDatabase) -> dict[str, str]:
    with database.transaction() as connection:
        return {row.iccid: row.state for row in profiles.list_profiles(connection)}


def count(database: SmdpDatabase, table: Any) -> int:
    from sqlalchemy import func, select

    with database.transaction() as connection:
        return connection.execute(select(func.count()).select_from(table.__table__)).scalar_one()
