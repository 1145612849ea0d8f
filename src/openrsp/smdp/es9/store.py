"""The ES9+ path's storage: the few rows a download touches, read and written with SQLAlchemy Core.

ES9+ is the SM-DP+'s hot path (four calls per download, each its own transaction). The ORM
Repository serves ES2+ and the command line; here each call costs a handful of statements, built
with SQLAlchemy Core once (its compiled cache keeps their SQL) and run in db/transactions.py:
one join reads a profile with its order and operator, state changes are the same conditional
UPDATE (`… WHERE state = :expected`) plus an `events` row as `Repository.transition` writes, and
progress reports go to the same outbox in the same transaction. Rows come back as small dataclasses
with the attribute names of the ORM models, so the rules (es9_orders, es9_metadata) read them
the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, select, update

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
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9.views import OrderView, ProfileView, SessionRow
from openrsp.smdp.prepared_package import PreparedPackage
from openrsp.smdp.states import Event, State

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


def _profile_query(where: Any, *, with_package: bool = False, lock: bool = True) -> Any:
    columns = [*_PROFILE_COLUMNS, *_ORDER_COLUMNS]
    joined = _profiles.join(_operators, _operators.c.id == _profiles.c.operator_id).outerjoin(
        _orders, _orders.c.profile_id == _profiles.c.id
    )
    if with_package:  # the package has its own table: joined only when the call needs it
        columns.append(_packages.c.package)
        joined = joined.join(_packages, _packages.c.iccid == _profiles.c.iccid)
    query = select(*columns).select_from(joined).where(where)
    return query.with_for_update(of=_profiles) if lock else query


# Built once: SQLAlchemy then only looks up the compiled form (building costs more than running).
_PROFILE_BY_ICCID = _profile_query(_profiles.c.iccid == bindparam("iccid"))
_PROFILE_WITH_PACKAGE_BY_ICCID = _profile_query(_profiles.c.iccid == bindparam("iccid"), with_package=True)
_PROFILE_BY_MATCHING_ID = _profile_query(_orders.c.matching_id == bindparam("matching_id"))
_PROFILES_FOR_EID = _profile_query(_orders.c.eid == bindparam("eid"), lock=False).order_by(_orders.c.id)
_SESSION_COLUMNS = [_sessions.c[name] for name in _SESSION_FIELDS]
_SESSION_BY_ID = (
    select(*_SESSION_COLUMNS).where(_sessions.c.transaction_id == bindparam("tid")).with_for_update()
)
_SESSIONS_OF = (
    select(*_SESSION_COLUMNS)
    .where(
        _sessions.c.iccid == bindparam("iccid"),
        _sessions.c.eid == bindparam("eid"),
        _sessions.c.state == bindparam("state"),
    )
    .order_by(_sessions.c.updated_at.desc())
)
_INSERT_SESSION = insert(_sessions)
_UPDATE_SESSION = update(_sessions).where(_sessions.c.transaction_id == bindparam("tid"))
_PURGE_SESSIONS = delete(_sessions).where(_sessions.c.expires_at < bindparam("now"))
_UPDATE_ORDER = update(_orders).where(_orders.c.id == bindparam("order_id"))
_INSERT_NOTIFICATION = insert(_notifications)
_NOTIFICATION_SEEN = select(_notifications.c.id).where(
    _notifications.c.eid == bindparam("eid"), _notifications.c.seq == bindparam("seq")
)


def _profile_from(data: dict[str, Any]) -> ProfileView:
    order = None
    if data["order_id"] is not None:
        order = OrderView(**{name: data[f"order_{name}"] for name in _ORDER_FIELDS})
    return ProfileView(
        **{column.name: data[column.name] for column in _PROFILE_COLUMNS},
        order=order,
        package=data.get("package"),
    )


class Es9Tx:
    """One database transaction of an ES9+ call."""

    def __init__(self, store: Es9Store, cursor: transactions.Cursor) -> None:
        self.store = store
        self.cursor = cursor

    # -- RSP sessions ----------------------------------------------------------------------------

    def get_session(self, transaction_id: str) -> SessionRow | None:
        """The session row, locked (PostgreSQL: FOR UPDATE; SQLite: the transaction holds the lock)."""
        row = self.cursor.first(_SESSION_BY_ID, {"tid": transaction_id})
        return None if row is None else SessionRow(**row)

    def save_session(self, row: SessionRow) -> None:
        """Write the row: an UPDATE, or the INSERT of a session stored for the first time."""
        values = {name: getattr(row, name) for name in _SESSION_WRITABLE}
        if row.stored:
            self.cursor.execute(_UPDATE_SESSION, {"tid": row.transaction_id, **values})
            return
        values.update(transaction_id=row.transaction_id, created_at=self.store.clock())
        self.cursor.execute(_INSERT_SESSION, values)
        row.stored = True

    def bound_sessions(self, iccid: str, eid: str, state: str) -> list[SessionRow]:
        """This eUICC's sessions for this profile in `state`, newest first."""
        rows = self.cursor.rows(_SESSIONS_OF, {"iccid": iccid, "eid": eid, "state": state})
        return [SessionRow(**row) for row in rows]

    def purge_expired_sessions(self) -> int:
        return self.cursor.execute(_PURGE_SESSIONS, {"now": self.store.clock()})

    # -- profiles and orders ---------------------------------------------------------------------

    def profile_by_iccid(self, iccid: str, *, with_package: bool = False) -> ProfileView | None:
        """The profile with its order and operator, locked against other sessions."""
        query = _PROFILE_WITH_PACKAGE_BY_ICCID if with_package else _PROFILE_BY_ICCID
        row = self.cursor.first(query, {"iccid": iccid})
        return None if row is None else _profile_from(row)

    def profile_by_matching_id(self, matching_id: str) -> ProfileView | None:
        row = self.cursor.first(_PROFILE_BY_MATCHING_ID, {"matching_id": matching_id})
        return None if row is None else _profile_from(row)

    def profiles_ordered_for_eid(self, eid: str) -> list[ProfileView]:
        """Profiles whose order is bound to this EID, by order id (not locked)."""
        return [_profile_from(row) for row in self.cursor.rows(_PROFILES_FOR_EID, {"eid": eid})]

    def save_order(self, order: OrderView, **values: Any) -> None:
        for name, value in values.items():
            setattr(order, name, value)
        self.cursor.execute(_UPDATE_ORDER, {"order_id": order.id, **values})

    # -- state changes and the audit trail -------------------------------------------------------

    def transition(
        self,
        profile: ProfileView,
        event_: Event,
        *,
        detail: dict[str, Any] | None = None,
        progress: ProgressPoint | Literal[False] | None = None,
    ) -> State:
        """The state change, as every caller writes it (db/order_moves.py)."""
        new = order_moves.move(
            self.cursor.connection,
            _subject(profile),
            event_,
            self.store.clock(),
            detail=detail,
            point=progress,
        )
        profile.state = new.value
        return new

    def report_progress(self, profile: ProfileView, point: ProgressPoint, *, event_: str) -> None:
        """A step that changes no state (eligibility check, confirmation code failure)."""
        order_moves.report(self.cursor.connection, _subject(profile), point, event_, self.store.clock())

    # -- notifications ---------------------------------------------------------------------------

    def record_notification(
        self,
        *,
        event_: str,
        raw: bytes,
        seq: int | None = None,
        eid: str | None = None,
        iccid: str | None = None,
        result: str | None = None,
    ) -> bool:
        """Store a notification; False, and nothing stored, when this eUICC's notification with
        this sequence number is stored already (a replay). A replay racing its original in another
        transaction meets the unique index instead: IntegrityConflict."""
        seen = (
            eid is not None
            and seq is not None
            and self.cursor.first(_NOTIFICATION_SEEN, {"eid": eid, "seq": seq})
        )
        if seen:
            return False
        values = {"seq": seq, "eid": eid, "iccid": iccid, "event": event_, "raw": raw, "result": result}
        values["received_at"] = self.store.clock()
        self.cursor.execute(_INSERT_NOTIFICATION, values)
        return True


@dataclass
class Es9Store:
    """The ES9+ storage over the SM-DP+'s database (engine, sealer, clock)."""

    database: SmdpDatabase

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.database.clock

    @contextmanager
    def transaction(self) -> Iterator[Es9Tx]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with transactions.begin(self.database.engine) as cursor:
            yield Es9Tx(self, cursor)

    def open_package(self, profile: ProfileView) -> PreparedPackage:
        """The profile's package, with its PPK protection when it was prepared at import."""
        assert profile.package is not None, "read the profile with_package=True"
        return self.database.open_prepared(profile.iccid, profile.package)


def _subject(profile: ProfileView) -> order_moves.Subject:
    return order_moves.Subject(
        id=profile.id,
        iccid=profile.iccid,
        state=profile.state,
        profile_type=profile.profile_type,
        operator_name=profile.operator_name,
        callback_url=profile.callback_url,
        order=profile.order,
    )
