"""The download orders ES2+ keeps: create, change, drop, and find them by matchingId or EID."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from openrsp.smdp.db.models import Order
from openrsp.smdp.rows import OrderRow

_orders = Order.__table__
_FIELDS = [f.name for f in fields(OrderRow)]
_SELECT = select(*[_orders.c[name] for name in _FIELDS])
_BY_MATCHING_ID = _SELECT.where(_orders.c.matching_id == bindparam("matching_id"))
_BY_MATCHING_ID_LOCKED = _BY_MATCHING_ID.with_for_update()
_FOR_EID = _SELECT.where(_orders.c.eid == bindparam("eid")).order_by(_orders.c.id)
_MATCHING_ID_COUNT = select(func.count()).where(_orders.c.matching_id == bindparam("matching_id"))
_INSERT = insert(_orders)
_DELETE = delete(_orders).where(_orders.c.profile_id == bindparam("profile_id"))


def create_order(
    connection: Connection,
    profile_id: int,
    now: datetime,
    *,
    eid: str | None,
    cc_max_attempts: int,
    max_download_attempts: int,
    expires_at: datetime | None = None,
) -> None:
    """A new order for the profile: no matchingId, no confirmation code yet (ConfirmOrder sets them)."""
    values = {
        "profile_id": profile_id,
        "eid": eid,
        "matching_id": None,
        "cc_hash": None,
        "cc_attempts": 0,
        "cc_max_attempts": cc_max_attempts,
        "download_attempts": 0,
        "max_download_attempts": max_download_attempts,
        "expires_at": expires_at,
        "release_flag": False,
        "smds_address": None,
        "retry_binding": None,
        "created_at": now,
        "updated_at": now,
    }
    connection.execute(_INSERT, values)


def update_order(connection: Connection, order_id: int, values: dict[str, Any]) -> None:
    """Write these columns of the order (sqlalchemy IntegrityError: a matchingId taken meanwhile)."""
    if values:
        connection.execute(update(_orders).where(_orders.c.id == order_id).values(**values))


def drop_order(connection: Connection, profile_id: int) -> None:
    connection.execute(_DELETE, {"profile_id": profile_id})


def matching_id_in_use(connection: Connection, matching_id: str) -> bool:
    return connection.execute(_MATCHING_ID_COUNT, {"matching_id": matching_id}).scalar_one() > 0


def find_order_by_matching_id(
    connection: Connection, matching_id: str, *, lock: bool = False
) -> OrderRow | None:
    statement = _BY_MATCHING_ID_LOCKED if lock else _BY_MATCHING_ID
    row = connection.execute(statement, {"matching_id": matching_id}).mappings().first()
    return None if row is None else OrderRow(**row)


def find_orders_for_eid(connection: Connection, eid: str) -> list[OrderRow]:
    """Orders bound to this EID (for the default SM-DP+ and empty-matchingId cases)."""
    return [OrderRow(**row) for row in connection.execute(_FOR_EID, {"eid": eid}).mappings()]
