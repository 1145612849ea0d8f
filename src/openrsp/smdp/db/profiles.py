"""The profiles: add in bulk (sealed), list, read with their order, pick an Available one, remove;
and open what is sealed in them (package, Ki/OPc)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from openrsp.hexutil import to_hex
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp import prepared_package
from openrsp.smdp.db import operators
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.models import EventLog, Operator, Order, Profile, ProfilePackage, RspSession
from openrsp.smdp.errors import IntegrityConflict, InventoryError
from openrsp.smdp.rows import DEFAULT_PROFILE_TYPE, NewProfile, OrderRow, ProfileRow, ProfileSecrets
from openrsp.smdp.states import REMOVABLE_STATES, State

__all__ = [
    "DEFAULT_PROFILE_TYPE",
    "NewProfile",
    "ProfileRow",
    "ProfileSecrets",
    "add_profiles",
    "find_available",
    "get_profile",
    "list_profiles",
    "open_package",
    "open_secrets",
    "profile_type_known",
    "remove_profiles",
    "sealed_package",
]

_CHUNK = 500  # rows per statement: keeps IN lists and multi-row INSERTs within every driver's limits
_profiles = Profile.__table__
_orders = Order.__table__
_operators = Operator.__table__
_packages = ProfilePackage.__table__
_PROFILE_FIELDS = [
    f.name for f in fields(ProfileRow) if f.name not in ("operator_name", "callback_url", "order")
]
_ORDER_FIELDS = [f.name for f in fields(OrderRow)]
_JOINED = _profiles.join(_operators, _operators.c.id == _profiles.c.operator_id).outerjoin(
    _orders, _orders.c.profile_id == _profiles.c.id
)
_SELECT = select(
    *[_profiles.c[name] for name in _PROFILE_FIELDS],
    _operators.c.name.label("operator_name"),
    _operators.c.callback_url,
    *[_orders.c[name].label(f"order_{name}") for name in _ORDER_FIELDS],
).select_from(_JOINED)
_BY_ICCID = _SELECT.where(_profiles.c.iccid == bindparam("iccid"))
_BY_ICCID_LOCKED = _BY_ICCID.with_for_update(of=_profiles)
_ALL = _SELECT.order_by(_profiles.c.iccid)
_OF_OPERATOR = _ALL.where(_profiles.c.operator_id == bindparam("operator_id"))
_PACKAGE = select(_packages.c.package).where(_packages.c.iccid == bindparam("iccid"))
# One index probe (LIMIT 1), not a count over every profile of the type.
_TYPE_KNOWN = (
    select(_profiles.c.id)
    .where(_profiles.c.operator_id == bindparam("operator_id"), _profiles.c.profile_type == bindparam("type"))
    .limit(1)
)
# An Available profile of the type, locked for us (others' locked rows are skipped).
_AVAILABLE = (
    _SELECT.where(
        _profiles.c.operator_id == bindparam("operator_id"),
        _profiles.c.profile_type == bindparam("type"),
        _profiles.c.state == State.AVAILABLE.value,
    )
    .order_by(_profiles.c.id)
    .limit(1)
    .with_for_update(of=_profiles, skip_locked=True)
)
_INSERT_PROFILES = insert(_profiles)
_INSERT_PACKAGES = insert(_packages)
_INSERT_EVENT = insert(EventLog.__table__)


def profile_from(data: Any) -> ProfileRow:
    """A ProfileRow from a row of the profile/operator/order join."""
    order = None
    if data["order_id"] is not None:
        order = OrderRow(**{name: data[f"order_{name}"] for name in _ORDER_FIELDS})
    return ProfileRow(
        **{name: data[name] for name in _PROFILE_FIELDS},
        operator_name=data["operator_name"],
        callback_url=data["callback_url"],
        order=order,
    )


def get_profile(connection: Connection, iccid: str, *, lock: bool = False) -> ProfileRow | None:
    """The profile with its operator and order; `lock`: FOR UPDATE on PostgreSQL."""
    row = connection.execute(_BY_ICCID_LOCKED if lock else _BY_ICCID, {"iccid": iccid}).mappings().first()
    return None if row is None else profile_from(row)


def list_profiles(connection: Connection, operator_id: int | None = None) -> list[ProfileRow]:
    """Every profile (or one operator's), by ICCID."""
    if operator_id is None:
        result = connection.execute(_ALL)
    else:
        result = connection.execute(_OF_OPERATOR, {"operator_id": operator_id})
    return [profile_from(row) for row in result.mappings()]


def profile_type_known(connection: Connection, operator_id: int, profile_type: str) -> bool:
    found = connection.execute(_TYPE_KNOWN, {"operator_id": operator_id, "type": profile_type}).first()
    return found is not None


def find_available(connection: Connection, operator_id: int, profile_type: str) -> ProfileRow | None:
    """An Available profile of this type, locked for us (others' locked rows are skipped)."""
    row = (
        connection.execute(_AVAILABLE, {"operator_id": operator_id, "type": profile_type}).mappings().first()
    )
    return None if row is None else profile_from(row)


# -- sealed contents ------------------------------------------------------------------------------


def sealed_package(connection: Connection, iccid: str) -> bytes | None:
    """The profile's sealed package record (its own table: read only when asked for)."""
    return connection.execute(_PACKAGE, {"iccid": iccid}).scalar()


def open_package(database: SmdpDatabase, iccid: str) -> bytes:
    """The profile's SAIP package (DER), read in a transaction of its own."""
    with database.transaction() as connection:
        sealed = sealed_package(connection, iccid)
    if sealed is None:
        raise InventoryError(f"profile {iccid} is not in the inventory")
    return database.open_prepared(iccid, sealed).der


def open_secrets(sealer: Sealer, profile: ProfileRow) -> ProfileSecrets:
    data = json.loads(sealer.open(profile.secrets, f"secrets/{profile.iccid}"))
    return ProfileSecrets(
        algorithm=data.get("algorithm"),
        ki=bytes.fromhex(data["ki"]) if data.get("ki") else None,
        opc=bytes.fromhex(data["opc"]) if data.get("opc") else None,
    )


# -- adding and removing --------------------------------------------------------------------------


def add_profiles(database: SmdpDatabase, profiles: Sequence[NewProfile], operator: str) -> list[str]:
    """Add all the profiles, or none: any ICCID already known (or twice in the batch) refuses the lot."""
    seen: set[str] = set()
    for item in profiles:
        if item.iccid in seen:
            raise InventoryError(f"ICCID {item.iccid} appears twice; nothing imported")
        seen.add(item.iccid)
    now = database.clock()
    try:
        with database.transaction() as connection:
            owner = operators.ensure_operator(connection, operator, now)
            known = _known_iccids(connection, list(seen))
            if known:
                shown = ", ".join(sorted(known)[:5]) + (" …" if len(known) > 5 else "")
                raise InventoryError(f"ICCID already in the inventory: {shown}; nothing imported")
            rows = [_profile_row(database.sealer, item, owner.id, now) for item in profiles]
            packages = [{"iccid": row["iccid"], "package": row.pop("package")} for row in rows]
            for start in range(0, len(rows), _CHUNK):
                connection.execute(_INSERT_PROFILES, rows[start : start + _CHUNK])
                connection.execute(_INSERT_PACKAGES, packages[start : start + _CHUNK])
    except (IntegrityError, IntegrityConflict):
        raise InventoryError("an ICCID was added concurrently; nothing imported") from None
    return [item.iccid for item in profiles]


def _known_iccids(connection: Connection, iccids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(iccids), _CHUNK):
        chunk = iccids[start : start + _CHUNK]
        known.update(
            connection.execute(select(_profiles.c.iccid).where(_profiles.c.iccid.in_(chunk))).scalars()
        )
    return known


def _profile_row(sealer: Sealer, item: NewProfile, operator_id: int, now: datetime) -> dict[str, Any]:
    secrets = {
        "algorithm": item.aka_algorithm,
        "ki": to_hex(item.ki) if item.ki else None,
        "opc": to_hex(item.opc) if item.opc else None,
    }
    return {
        "iccid": item.iccid,
        "operator_id": operator_id,
        "profile_type": item.profile_type or DEFAULT_PROFILE_TYPE,
        "state": State.AVAILABLE.value,
        # the package with its PPK protection prepared (prepared_package): downloads reuse it
        "package": sealer.seal(
            prepared_package.to_bytes(prepared_package.prepare(item.package)), f"package/{item.iccid}"
        ),
        "secrets": sealer.seal(json.dumps(secrets).encode(), f"secrets/{item.iccid}"),
        "imsi": item.imsi,
        "msisdn": item.msisdn,
        "spn": item.spn,
        "profile_name": item.profile_name,
        "profile_class": item.profile_class or "operational",
        "icon_type": item.icon_type,
        "icon": item.icon,
        "extra": dict(item.extra),
        "created_at": now,
        "updated_at": now,
    }


def remove_profiles(database: SmdpDatabase, iccids: Sequence[str]) -> list[tuple[str, str]]:
    """Take profiles out of the inventory, all or none; (ICCID, state it had) for each.

    Only profiles no download is under way for (REMOVABLE_STATES): one unknown ICCID, or one
    with an open order, refuses the lot. The order and ES9+ sessions go with the profile; the
    events (plus a "removed" one) and received notifications stay as the audit trail, so the
    ICCID may be imported again afterwards.
    """
    wanted = list(dict.fromkeys(iccids))
    with database.transaction() as connection:
        query = (
            select(_profiles.c.id, _profiles.c.iccid, _profiles.c.state)
            .where(_profiles.c.iccid.in_(wanted))
            .with_for_update(of=_profiles)
        )
        found = {row.iccid: row for row in connection.execute(query)}
        unknown = [iccid for iccid in wanted if iccid not in found]
        if unknown:
            raise InventoryError(f"not in the inventory: {', '.join(unknown)}; nothing removed")
        busy = [row for row in found.values() if row.state not in REMOVABLE_STATES]
        if busy:
            shown = ", ".join(f"{row.iccid} ({row.state})" for row in busy)
            raise InventoryError(
                f"a download order is open for {shown}: cancel it or let it finish; nothing removed"
            )
        ids = [row.id for row in found.values()]
        connection.execute(delete(RspSession.__table__).where(RspSession.__table__.c.iccid.in_(wanted)))
        connection.execute(delete(_packages).where(_packages.c.iccid.in_(wanted)))
        connection.execute(delete(_orders).where(_orders.c.profile_id.in_(ids)))
        # The state condition again: an order taken since the check above keeps its profile.
        gone = connection.execute(
            delete(_profiles).where(
                _profiles.c.id.in_(ids), _profiles.c.state.in_([s.value for s in REMOVABLE_STATES])
            )
        )
        if gone.rowcount != len(ids):
            raise InventoryError("a profile was ordered meanwhile; nothing removed")
        now = database.clock()
        for iccid in wanted:
            values = {"iccid": iccid, "event": "removed", "from_state": found[iccid].state, "to_state": None}
            connection.execute(_INSERT_EVENT, {**values, "detail": {}, "created_at": now})
    return [(iccid, found[iccid].state) for iccid in wanted]
