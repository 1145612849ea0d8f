"""The ES9+ path's storage: the snapshot a call reads and the effects it applies, with SQLAlchemy Core.

ES9+ is the SM-DP+'s hot path (four calls per download, each its own transaction); each call
costs a handful of statements, built with SQLAlchemy Core once, compiled once per dialect
(db/prepared.py) and run on the DB-API driver by db/transactions.py's Cursor.
The snapshot is one locked, joined read for most calls (the session with its profile, order,
operator and, for getBoundProfilePackage, sealed package; or the candidate orders of an
authenticateClient). Effects (es9/effects.py) are applied in order: state changes are the same
conditional UPDATE (`… WHERE state = :expected`) plus an `events` row as every caller writes them
(db/order_moves.py), sessions are updated only in the state the snapshot read, and progress reports
go to the same outbox in the same transaction. Rows come back as es9/views.py's dataclasses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from openrsp.smdp.db import order_moves, transactions
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.models import (
    Notification,
    Operator,
    Order,
    Profile,
    ProfilePackage,
    RspSession,
)
from openrsp.smdp.db.prepared import Prepared
from openrsp.smdp.errors import StateConflict
from openrsp.smdp.es9.effects import (
    Applied,
    Effect,
    MoveOrder,
    PurgeExpiredSessions,
    RecordNotification,
    ReportProgress,
    SaveOrder,
    SaveSession,
)
from openrsp.smdp.es9.views import OrderView, ProfileView, SessionRow

_log = logging.getLogger(__name__)

_profiles = Profile.__table__
_orders = Order.__table__
_operators = Operator.__table__
_sessions = RspSession.__table__
_notifications = Notification.__table__
_packages = ProfilePackage.__table__


_ORDER_FIELDS = [f.name for f in fields(OrderView)]
_PROFILE_COLUMNS = [
    _profiles.c.id,
    _profiles.c.iccid,
    _profiles.c.state,
    _profiles.c.profile_type,
    _operators.c.name.label("operator_name"),
    _operators.c.callback_url,
    _profiles.c.spn,
    _profiles.c.profile_name,
    _profiles.c.profile_class,
    _profiles.c.icon_type,
    _profiles.c.icon,
    _profiles.c.extra,
]
_ORDER_COLUMNS = [_orders.c[name].label(f"order_{name}") for name in _ORDER_FIELDS]
_SESSION_FIELDS = [f.name for f in fields(SessionRow) if f.name != "stored"]
_SESSION_WRITABLE = ("state", "eid", "iccid", "expires_at", "data", "updated_at")


def _profile_query(where: Any, *, with_package: bool = False, with_session: bool = False) -> Any:
    """The profile with its operator and order, locked; with its sealed package (its own table:
    joined only when the call needs it) and the session that names it, when asked. The session is
    an inner join so both rows are locked (PostgreSQL locks no outer join's nullable side)."""
    columns = [*_PROFILE_COLUMNS, *_ORDER_COLUMNS]
    joined = _profiles.join(_operators, _operators.c.id == _profiles.c.operator_id).outerjoin(
        _orders, _orders.c.profile_id == _profiles.c.id
    )
    locked = [_profiles]
    if with_package:
        columns.append(_packages.c.package)
        joined = joined.join(_packages, _packages.c.iccid == _profiles.c.iccid)
    if with_session:
        columns.extend(_sessions.c[name].label(f"session_{name}") for name in _SESSION_FIELDS)
        joined = joined.join(_sessions, _sessions.c.iccid == _profiles.c.iccid)
        locked = [_sessions, _profiles]
    return select(*columns).select_from(joined).where(where).with_for_update(of=locked)


# Built and prepared once: each is compiled once per dialect, then run on the driver.
_PROFILES_BY_MATCHING_ID = Prepared(_profile_query(_orders.c.matching_id == bindparam("matching_id")))
_PROFILES_FOR_EID = Prepared(_profile_query(_orders.c.eid == bindparam("eid")).order_by(_orders.c.id))
_BY_TID = _sessions.c.transaction_id == bindparam("tid")
_SESSION_WITH_PROFILE = Prepared(_profile_query(_BY_TID, with_session=True))
_SESSION_WITH_PROFILE_AND_PACKAGE = Prepared(_profile_query(_BY_TID, with_package=True, with_session=True))
_SESSION_COLUMNS = [_sessions.c[name] for name in _SESSION_FIELDS]
_SESSION_BY_ID = Prepared(select(*_SESSION_COLUMNS).where(_BY_TID).with_for_update())
_SESSIONS_OF = Prepared(
    select(*_SESSION_COLUMNS)
    .where(
        _sessions.c.iccid == bindparam("iccid"),
        _sessions.c.eid == bindparam("eid"),
        _sessions.c.state == bindparam("state"),
    )
    .order_by(_sessions.c.updated_at.desc())
)
_INSERT_SESSION = Prepared(insert(_sessions))
_UPDATE_SESSION = Prepared(
    update(_sessions).where(
        _sessions.c.transaction_id == bindparam("tid"), _sessions.c.state == bindparam("expected")
    )
)
_PURGE_SESSIONS = Prepared(delete(_sessions).where(_sessions.c.expires_at < bindparam("now")))
_UPDATE_ORDER = Prepared(update(_orders).where(_orders.c.id == bindparam("order_id")))
# A replay (same EID and seqNumber) meets the unique index and is skipped, in the same statement.
# RETURNING says whether it was stored (a DBAPI's rowcount for an upsert is not to be trusted).
_INSERT_NOTIFICATION = {
    "postgresql": Prepared(
        postgresql.insert(_notifications).on_conflict_do_nothing().returning(_notifications.c.id)
    ),
    "sqlite": Prepared(sqlite.insert(_notifications).on_conflict_do_nothing().returning(_notifications.c.id)),
}


# (attribute, result column) pairs, named once rather than on every row
_PROFILE_KEYS = tuple(column.name for column in _PROFILE_COLUMNS)
_ORDER_KEYS = tuple((name, f"order_{name}") for name in _ORDER_FIELDS)
_SESSION_KEYS = tuple((name, f"session_{name}") for name in _SESSION_FIELDS)


def _profile_from(data: dict[str, Any]) -> ProfileView:
    order = None
    if data["order_id"] is not None:
        order = OrderView(**{name: data[key] for name, key in _ORDER_KEYS})
    return ProfileView(
        **{name: data[name] for name in _PROFILE_KEYS},
        order=order,
        package=data.get("package"),
    )


class Es9Tx:
    """One database transaction of an ES9+ call: its snapshot read, then its effects applied."""

    def __init__(self, store: Es9Store, cursor: transactions.Cursor) -> None:
        self.store = store
        self.cursor = cursor
        # (iccid, eid) of each session as this transaction read it: an UPDATE that leaves them as
        # they are does not name them, so SQLite does not rewrite their two index entries.
        self._read_identity: dict[str, tuple[str | None, str | None]] = {}

    def _read(self, session: SessionRow) -> SessionRow:
        self._read_identity[session.transaction_id] = (session.iccid, session.eid)
        return session

    # -- snapshots ---------------------------------------------------------------------------------

    def session(self, transaction_id: str) -> SessionRow | None:
        """The session row, locked (PostgreSQL: FOR UPDATE; SQLite: the transaction holds the lock)."""
        row = self.cursor.first(_SESSION_BY_ID, {"tid": transaction_id})
        return None if row is None else self._read(SessionRow(**row))

    def session_with_profile(
        self, transaction_id: str, *, with_package: bool = False
    ) -> tuple[SessionRow | None, ProfileView | None]:
        """The session and its profile (with order, operator and, when asked, sealed package), both
        locked, in one statement; a session without one (none named yet, the package gone) in two."""
        query = _SESSION_WITH_PROFILE_AND_PACKAGE if with_package else _SESSION_WITH_PROFILE
        row = self.cursor.first(query, {"tid": transaction_id})
        if row is None:
            return self.session(transaction_id), None
        session = SessionRow(**{name: row[key] for name, key in _SESSION_KEYS})
        return self._read(session), _profile_from(row)

    def profiles_for(self, *, matching_id: str | None, eid: str) -> list[ProfileView]:
        """The profile whose order has this matchingId or, without one, every profile ordered for
        this EID (by order id): locked against other sessions."""
        if matching_id:
            rows = self.cursor.rows(_PROFILES_BY_MATCHING_ID, {"matching_id": matching_id})
        else:
            rows = self.cursor.rows(_PROFILES_FOR_EID, {"eid": eid})
        return [_profile_from(row) for row in rows]

    def bound_sessions(self, iccid: str, eid: str) -> list[SessionRow]:
        """This eUICC's sessions that bound this profile, newest first."""
        rows = self.cursor.rows(_SESSIONS_OF, {"iccid": iccid, "eid": eid, "state": "bound"})
        return [self._read(SessionRow(**row)) for row in rows]

    # -- effects -----------------------------------------------------------------------------------

    def apply(self, effects: Sequence[Effect]) -> Applied:
        applied = Applied()
        for effect in effects:
            if isinstance(effect, SaveSession):
                self._save_session(effect)
            elif isinstance(effect, MoveOrder):
                order_moves.move(
                    self.cursor,
                    order_moves.subject_of(effect.profile),
                    effect.event,
                    self.store.clock(),
                    detail=effect.detail,
                    point=effect.progress,
                )
            elif isinstance(effect, ReportProgress):
                subject = order_moves.subject_of(effect.profile)
                order_moves.report(self.cursor, subject, effect.point, effect.event, self.store.clock())
            elif isinstance(effect, SaveOrder):
                self.cursor.execute(_UPDATE_ORDER, {"order_id": effect.order_id, **effect.values})
            elif isinstance(effect, RecordNotification):
                if not self._record_notification(effect):
                    applied.notifications_skipped += 1
            elif isinstance(effect, PurgeExpiredSessions):
                self.cursor.execute(_PURGE_SESSIONS, {"now": effect.now})
            else:  # pragma: no cover - the Effect union is closed
                raise TypeError(f"unknown effect {effect!r}")
        return applied

    def _save_session(self, effect: SaveSession) -> None:
        """The INSERT of a session stored for the first time (a duplicate transactionId is an
        IntegrityConflict), or the UPDATE of one still in the state the snapshot read."""
        row = effect.row
        values = {name: getattr(row, name) for name in _SESSION_WRITABLE}
        if effect.expected_state is None:
            values.update(transaction_id=row.transaction_id, created_at=self.store.clock())
            self.cursor.execute(_INSERT_SESSION, values)
            return
        if self._read_identity.get(row.transaction_id) == (row.iccid, row.eid):
            del values["iccid"], values["eid"]
        changed = self.cursor.execute(
            _UPDATE_SESSION, {"tid": row.transaction_id, "expected": effect.expected_state, **values}
        )
        if changed != 1:
            raise StateConflict(row.transaction_id, effect.expected_state)

    def _record_notification(self, effect: RecordNotification) -> bool:
        """Store a notification; False, and nothing stored, when this eUICC's notification with this
        sequence number is stored already (a replay, or its twin committed meanwhile)."""
        values = {
            "seq": effect.seq,
            "eid": effect.eid,
            "iccid": effect.iccid,
            "event": effect.event,
            "raw": effect.raw,
            "result": effect.result,
            "received_at": self.store.clock(),
        }
        statement = _INSERT_NOTIFICATION[self.cursor.dialect_name]
        return self.cursor.first(statement, values) is not None


@dataclass
class Es9Store:
    """The ES9+ storage over the SM-DP+'s database (engine, sealer, clock). `begin` opens the
    transactions (default: db/transactions.py's on the engine; a single-worker server on SQLite
    gives the event loop's own, db/loop_writer.py)."""

    database: SmdpDatabase
    begin: Callable[[], AbstractContextManager[transactions.Cursor]] | None = None

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.database.clock

    @contextmanager
    def transaction(self) -> Iterator[Es9Tx]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        opened = self.begin() if self.begin is not None else transactions.begin(self.database.engine)
        with opened as cursor:
            yield Es9Tx(self, cursor)
