"""db/prepared.py and transactions.Cursor: Core statements run on the DB-API driver must write and read
exactly what SQLAlchemy's own execution writes and reads, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from smdp_support import empty_tables
from sqlalchemy import Engine, bindparam, func, insert, literal_column, select, text, update
from sqlalchemy.exc import DBAPIError

from openrsp.smdp.db import transactions
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.engine import make_engine, migrate, sqlite_url
from openrsp.smdp.db.models import Operator, Order, OutboxItem, Profile
from openrsp.smdp.db.prepared import Prepared, UnpreparableStatement, prepared
from openrsp.smdp.errors import IntegrityConflict

_operators = Operator.__table__
_profiles = Profile.__table__
_orders = Order.__table__
_outbox = OutboxItem.__table__

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
ELSEWHERE = timezone(timedelta(hours=2))  # a UTC column takes any aware datetime, stores it as UTC

INSERT_PROFILE = Prepared(insert(_profiles))
INSERT_ORDER = Prepared(insert(_orders))
INSERT_OUTBOX = Prepared(insert(_outbox))
UPDATE_ORDER = Prepared(update(_orders).where(_orders.c.id == bindparam("order_id")))
PROFILE_BY_ICCID = Prepared(select(_profiles).where(_profiles.c.iccid == bindparam("iccid")))
ORDER_BY_ID = Prepared(select(_orders).where(_orders.c.id == bindparam("order_id")))


def _profile(n: int) -> dict[str, Any]:
    """A profile row with every column's type: strings, bytes, JSON, UTC datetimes, NULLs."""
    return {
        "id": n,
        "iccid": f"8949000000000000{n:04d}",
        "operator_id": 1,
        "profile_type": "ts48",
        "state": "Available",
        "secrets": bytes(range(256)),
        "imsi": None,
        "msisdn": "+49 170 000",
        "spn": "Ünïcödé SPN",
        "profile_name": None,
        "profile_class": "test",
        "icon_type": "png",
        "icon": b"\x00\xff\x00",
        "extra": {"nested": {"list": [1, "two", None, True]}, "empty": {}},
        "created_at": WHEN,
        "updated_at": WHEN.astimezone(ELSEWHERE),
    }


def _order(n: int, profile_id: int) -> dict[str, Any]:
    """An order row: booleans, integers, nullable bytes, nullable JSON set to None (JSON null)."""
    return {
        "id": n,
        "profile_id": profile_id,
        "eid": f"8904{n:028d}",
        "matching_id": f"MATCH-{n}",
        "cc_hash": None,
        "cc_attempts": 2,
        "cc_max_attempts": 5,
        "download_attempts": 0,
        "max_download_attempts": 3,
        "expires_at": None,
        "release_flag": True,
        "smds_address": None,
        "retry_binding": None,
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def _add_operator(database: SmdpDatabase) -> None:
    with database.transaction() as connection:
        connection.execute(insert(_operators), {"id": 1, "name": "op", "created_at": WHEN})


def _raw(engine: Engine, table: str, key: str, value: Any) -> dict[str, Any]:
    """A row as the database stores it: no type conversion at all (text() converts nothing)."""
    with engine.connect() as connection:
        row = (
            connection.execute(text(f"SELECT * FROM {table} WHERE {key} = :v"), {"v": value}).mappings().one()
        )
    return {name: bytes(item) if isinstance(item, memoryview) else item for name, item in row.items()}


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in names}


def test_rows_written_on_the_driver_are_stored_as_sqlalchemy_stores_them(database: SmdpDatabase) -> None:
    _add_operator(database)
    with database.transaction() as connection:  # SQLAlchemy's own execution
        connection.execute(insert(_profiles), _profile(1))
        connection.execute(insert(_orders), _order(1, 1))
    with transactions.begin(database.engine) as cursor:  # the driver
        assert cursor.execute(INSERT_PROFILE, _profile(2)) == 1
        assert cursor.execute(INSERT_ORDER, _order(2, 2)) == 1
    engine = database.engine
    by_sqlalchemy = _raw(engine, "profiles", "id", 1)
    by_driver = _raw(engine, "profiles", "id", 2)
    assert _without(by_driver, "id", "iccid") == _without(by_sqlalchemy, "id", "iccid")
    orders = _raw(engine, "orders", "id", 1), _raw(engine, "orders", "id", 2)
    assert _without(orders[1], "id", "profile_id", "eid", "matching_id") == _without(
        orders[0], "id", "profile_id", "eid", "matching_id"
    )
    with engine.connect() as connection:  # None in a JSON column is JSON null, not SQL NULL, both ways
        assert connection.execute(text("SELECT id FROM orders WHERE retry_binding IS NULL")).all() == []


def test_rows_read_on_the_driver_are_what_sqlalchemy_reads(database: SmdpDatabase) -> None:
    _add_operator(database)
    with transactions.begin(database.engine) as cursor:
        cursor.execute(INSERT_PROFILE, _profile(1))
        cursor.execute(INSERT_ORDER, _order(1, 1))
    iccid = _profile(1)["iccid"]
    with database.transaction() as connection:
        expected_profile = dict(
            connection.execute(PROFILE_BY_ICCID.statement, {"iccid": iccid}).mappings().one()
        )
        expected_order = dict(connection.execute(ORDER_BY_ID.statement, {"order_id": 1}).mappings().one())
    with transactions.begin(database.engine) as cursor:
        assert cursor.rows(PROFILE_BY_ICCID, {"iccid": iccid}) == [expected_profile]
        assert cursor.first(ORDER_BY_ID, {"order_id": 1}) == expected_order
    # and the values are the ones written: aware UTC datetimes, bytes, dicts, booleans
    written = _profile(1)
    assert expected_profile == {**written, "updated_at": WHEN}
    assert expected_profile["updated_at"].tzinfo is UTC
    assert expected_order == _order(1, 1)


def test_an_update_writes_the_columns_its_values_name_and_says_how_many_rows(database: SmdpDatabase) -> None:
    _add_operator(database)
    later = WHEN + timedelta(days=1)
    binding = {"eid": "89", "secret": "c2VhbGVk"}
    with transactions.begin(database.engine) as cursor:
        cursor.execute(INSERT_PROFILE, _profile(1))
        cursor.execute(INSERT_ORDER, _order(1, 1))
        changed = cursor.execute(
            UPDATE_ORDER,
            {"order_id": 1, "release_flag": False, "expires_at": later, "retry_binding": binding},
        )
        assert changed == 1
        assert cursor.execute(UPDATE_ORDER, {"order_id": 99, "release_flag": True}) == 0
        # another key set is another compiled form: the first one's columns are not written again
        assert cursor.execute(UPDATE_ORDER, {"order_id": 1, "cc_attempts": 4}) == 1
    with database.transaction() as connection:
        row = connection.execute(ORDER_BY_ID.statement, {"order_id": 1}).mappings().one()
    assert (row.release_flag, row.expires_at, row.retry_binding, row.cc_attempts) == (
        False,
        later,
        binding,
        4,
    )


def test_an_insert_fills_python_defaults_as_sqlalchemy_does(database: SmdpDatabase) -> None:
    """outbox.payload (default=dict) and outbox.attempts (default=0) left out of the values."""
    item = {
        "kind": "smds.deleteEvent",
        "target": "https://smds.example",
        "state": "pending",
        "next_attempt_at": WHEN,
        "created_at": WHEN,
    }
    with database.transaction() as connection:
        connection.execute(insert(_outbox), {**item, "idempotency_key": "by-sqlalchemy"})
    with transactions.begin(database.engine) as cursor:
        cursor.execute(INSERT_OUTBOX, {**item, "idempotency_key": "by-driver"})
    engine = database.engine
    by_sqlalchemy = _raw(engine, "outbox", "idempotency_key", "by-sqlalchemy")
    by_driver = _raw(engine, "outbox", "idempotency_key", "by-driver")
    assert _without(by_driver, "id", "idempotency_key") == _without(by_sqlalchemy, "id", "idempotency_key")
    assert by_driver["attempts"] == 0


def test_returning_gives_the_rows_and_a_bound_literal_is_sent(database: SmdpDatabase) -> None:
    _add_operator(database)
    returning = Prepared(
        insert(_profiles).returning(_profiles.c.id, _profiles.c.created_at, _profiles.c.extra)
    )
    available = Prepared(select(func.count().label("n")).where(_profiles.c.state == "Available"))
    with transactions.begin(database.engine) as cursor:
        assert cursor.rows(returning, _profile(7)) == [
            {"id": 7, "created_at": WHEN, "extra": _profile(7)["extra"]}
        ]
        assert cursor.first(available, {}) == {"n": 1}
        assert cursor.first(available, {}) == {"n": 1}  # the second run reuses the plan


def test_a_duplicate_key_is_an_integrity_conflict(database: SmdpDatabase) -> None:
    _add_operator(database)
    with transactions.begin(database.engine) as cursor:
        cursor.execute(INSERT_PROFILE, _profile(1))
    with pytest.raises(IntegrityConflict), transactions.begin(database.engine) as cursor:
        cursor.execute(INSERT_PROFILE, {**_profile(2), "iccid": _profile(1)["iccid"]})
    with pytest.raises(IntegrityConflict), transactions.begin(database.engine) as cursor:
        cursor.execute(INSERT_PROFILE, {**_profile(3), "operator_id": 42})  # no such operator


def test_other_driver_errors_come_as_sqlalchemy_errors(database: SmdpDatabase) -> None:
    broken = Prepared(text("SELECT * FROM no_such_table WHERE n = :n"))
    with pytest.raises(DBAPIError), transactions.begin(database.engine) as cursor:
        cursor.rows(broken, {"n": 1})


def test_plain_core_statements_are_prepared_once(database: SmdpDatabase) -> None:
    _add_operator(database)
    statement = select(_operators.c.name).where(_operators.c.id == bindparam("id"))
    with transactions.begin(database.engine) as cursor:
        assert cursor.first(statement, {"id": 1}) == {"name": "op"}
        assert cursor.first(statement, {"id": 2}) is None
    assert prepared(statement) is prepared(statement)


def test_the_sql_is_sqlalchemys_with_named_parameters(database: SmdpDatabase) -> None:
    """What goes to the driver is SQLAlchemy's SQL for the engine's dialect, placeholders aside."""
    dialect = database.engine.dialect
    for statement, values in (
        (INSERT_ORDER, _order(1, 1)),
        (UPDATE_ORDER, {"order_id": 1, "release_flag": True}),
        (PROFILE_BY_ICCID, {"iccid": "1"}),
    ):
        plan = statement.plan(dialect, values)
        keys = sorted(values) if statement.by_keys else None
        theirs = statement.statement.compile(dialect=dialect, column_keys=keys).string
        if dialect.name == "sqlite":  # sqlite3 takes `?` from SQLAlchemy, `:name` from us
            assert re.sub(r":\w+", "?", plan.sql) == theirs
            assert set(re.findall(r":(\w+)", plan.sql)) == {name for name, _ in plan.binds}
        else:
            assert plan.sql == theirs


def test_statements_rendered_per_execution_are_refused() -> None:
    with pytest.raises(UnpreparableStatement):
        Prepared(select(_profiles.c.id).where(_profiles.c.iccid.in_(bindparam("iccids", expanding=True))))
    with pytest.raises(UnpreparableStatement):
        Prepared(select(_profiles.c.id).where(_profiles.c.id == bindparam("n", literal_execute=True)))
    with pytest.raises(UnpreparableStatement):
        Prepared(select(_profiles.c.id).where(_profiles.c.id == bindparam("n", callable_=lambda: 1)))
    with pytest.raises(UnpreparableStatement):
        Prepared(literal_column("1"))


def test_a_cursor_over_a_bare_sqlite3_connection(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "bare.sqlite")
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    driver = sqlite3.connect(tmp_path / "bare.sqlite", isolation_level=None)
    try:
        driver.execute("BEGIN IMMEDIATE")
        cursor = transactions.Cursor.on(driver, "sqlite")
        cursor.execute(Prepared(insert(_operators)), {"id": 1, "name": "op", "created_at": WHEN})
        cursor.execute(INSERT_PROFILE, _profile(1))
        driver.execute("COMMIT")
        read = transactions.Cursor.on(driver, "sqlite").first(
            PROFILE_BY_ICCID, {"iccid": _profile(1)["iccid"]}
        )
    finally:
        driver.close()
    assert read == {**_profile(1), "updated_at": WHEN}


def test_a_cursor_over_a_bare_psycopg_connection(pg_database: str) -> None:
    """Written on a psycopg connection SQLAlchemy never configured; read back through SQLAlchemy."""
    url = pg_database
    empty_tables(url)
    with psycopg.connect(url) as driver:  # commits when the block ends
        cursor = transactions.Cursor.on(driver, "postgresql")
        cursor.execute(Prepared(insert(_operators)), {"id": 1, "name": "op", "created_at": WHEN})
        cursor.execute(INSERT_PROFILE, _profile(1))
        read_on_driver = cursor.first(PROFILE_BY_ICCID, {"iccid": _profile(1)["iccid"]})
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            read = (
                connection.execute(PROFILE_BY_ICCID.statement, {"iccid": _profile(1)["iccid"]})
                .mappings()
                .one()
            )
    finally:
        engine.dispose()
    assert dict(read) == read_on_driver == {**_profile(1), "updated_at": WHEN}
