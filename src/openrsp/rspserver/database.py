"""Engines for SQLite and PostgreSQL, as both server roles open them, and the UTC datetime column.

SQLite: WAL journal, a generous busy timeout, and every transaction opened with BEGIN IMMEDIATE,
so two writers queue up instead of both reading a state and then failing to upgrade their lock;
`reading(engine)` opens a connection whose transactions only read, with a plain BEGIN: it never
takes the write lock, so a poll (the outbox's) does not hold up the writers.
PostgreSQL: psycopg 3; row locks (SELECT … FOR UPDATE) plus conditional updates do the same job.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.types import TypeDecorator

from openrsp.extras import require
from openrsp.private_files import PrivateFileError, check_private_file, ensure_private_dir
from openrsp.rspserver.errors import ConfigError
from openrsp.rspserver.jsoncodec import dump_json, load_json


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` for psycopg 3; keep everything else as given."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    # JSON columns (an ES9+ session's data, read and written on every call) read as json.loads reads
    # them and written as compact JSON, through orjson where it gives the same result (jsoncodec.py).
    kwargs.setdefault("json_deserializer", load_json)
    kwargs.setdefault("json_serializer", _json_text)
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _prepare_sqlite_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        require("psycopg", "postgres", "a PostgreSQL database")  # one line, not a traceback, without it
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")


def _json_text(value: Any) -> str:
    return dump_json(value).decode()


def _prepare_sqlite_file(path: Path) -> None:
    """The database holds matchingIds and sealed secrets: create it 0600 (SQLite gives its -wal and
    -shm files the database file's mode) and refuse one that other users may read."""
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        os.fchmod(fd, 0o600)
        os.close(fd)  # an empty file is an empty SQLite database
    try:
        for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            check_private_file(candidate, "database file")
    except PrivateFileError as exc:
        raise ConfigError(str(exc)) from None


def _serialise_sqlite_writers(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight on the sqlite3 connection: SQLAlchemy's statement machinery around a fixed
        # statement cost about 14 µs of CPU per transaction.
        read_only = connection.get_execution_options().get(_READ_ONLY)
        connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")


_READ_ONLY = "openrsp_read_only"


def reading(engine: Engine) -> Connection:
    """A connection for reads only, as a context manager: on SQLite its transactions start with a
    plain BEGIN and never take the write lock. Not for writes: a write there would have to upgrade
    its lock and could fail with SQLITE_BUSY, which is why every other transaction is IMMEDIATE."""
    return engine.connect().execution_options(**{_READ_ONLY: True})


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
