"""The operators: the mobile operators whose profiles the SM-DP+ holds, and who may order them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from openrsp.smdp.db.models import Operator

_operators = Operator.__table__
_COLUMNS = (_operators.c.id, _operators.c.name, _operators.c.cert_cn, _operators.c.callback_url)
_BY_NAME = select(*_COLUMNS).where(_operators.c.name == bindparam("name"))
_ALL = select(*_COLUMNS).order_by(_operators.c.name)
_INSERT = insert(_operators)


@dataclass(frozen=True)
class OperatorRow:
    id: int
    name: str
    cert_cn: str | None
    callback_url: str | None


def by_name(connection: Connection, name: str) -> OperatorRow | None:
    row = connection.execute(_BY_NAME, {"name": name}).mappings().first()
    return None if row is None else OperatorRow(**row)


def ensure_operator(
    connection: Connection,
    name: str,
    now: datetime,
    *,
    cert_cn: str | None = None,
    callback_url: str | None = None,
) -> OperatorRow:
    """The operator called `name`, created when new; cert_cn/callback_url updated when given
    (an empty string clears one)."""
    changes: dict[str, str | None] = {}
    if cert_cn is not None:
        changes["cert_cn"] = cert_cn or None
    if callback_url is not None:
        changes["callback_url"] = callback_url or None
    existing = by_name(connection, name)
    if existing is None:
        values = {"name": name, "created_at": now, "cert_cn": None, "callback_url": None, **changes}
        connection.execute(_INSERT, values)
    elif any(getattr(existing, key) != value for key, value in changes.items()):
        connection.execute(update(_operators).where(_operators.c.id == existing.id).values(**changes))
    else:
        return existing
    found = by_name(connection, name)
    assert found is not None  # written just above, in this transaction
    return found


def operator_for_certificate(
    connection: Connection, common_name: str | None, default: str | None, now: datetime
) -> OperatorRow | None:
    """Which operator a verified client certificate speaks for.

    A configured cert_cn wins, then an operator named like the CN, then the default operator
    (created when it is configured but new): a single-operator SM-DP+ needs no mapping at all.
    """
    # One query for the three candidates, ranked here (an ES2+ call asks this every time).
    names = [n for n in (common_name, default) if n]
    if not names:
        return None
    query = select(*_COLUMNS).where(
        or_(_operators.c.cert_cn == common_name, _operators.c.name.in_(names))
        if common_name
        else _operators.c.name.in_(names)
    )
    found = [OperatorRow(**row) for row in connection.execute(query).mappings()]
    if common_name:
        for operator in found:
            if operator.cert_cn == common_name:
                return operator
        for operator in found:
            if operator.name == common_name:
                return operator
    if default:
        existing = next((op for op in found if op.name == default), None)
        return existing or ensure_operator(connection, default, now)
    return None


def list_operators(connection: Connection) -> list[OperatorRow]:
    return [OperatorRow(**row) for row in connection.execute(_ALL).mappings()]
