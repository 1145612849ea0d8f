"""Transactions for the SM-DP+'s statements, on SQLAlchemy Core's public API.

Statements are SQLAlchemy Core objects built once at import (module constants), run by `Cursor`
on the connection's DB-API driver: db/prepared.py compiles each once per dialect with SQLAlchemy,
which also gives the type conversions (UTC datetimes, JSON, booleans ...) both ways. Values go in
as plain dicts.

`begin(engine)` opens one transaction (SQLite: BEGIN IMMEDIATE, see db/engine.py; after waiting
for its turn, see WriterTurn) and commits or rolls it back at the end of the block. It blocks:
callers on an event loop run it in the database's thread pool (db/executor.py).
`sole_writer_process(db_url)`: this process is its server's only one (`smdp serve` with one worker),
so its transactions skip the lock file.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import Executable

from openrsp.rspserver.database import make_engine
from openrsp.smdp.db.prepared import Plan, Prepared, prepared
from openrsp.smdp.errors import IntegrityConflict

__all__ = [
    "Cursor",
    "IntegrityConflict",
    "Transaction",
    "WriterTurn",
    "begin",
    "is_sole_writer",
    "sole_writer_process",
]


class Cursor:
    """Runs statements on one connection inside a transaction, straight on its DB-API driver.

    Statements are `Prepared` (db/prepared.py) or plain Core statements (wrapped in a Prepared once
    per statement object): SQLAlchemy compiles each once per dialect and gives its type
    conversions; the driver runs it. Over a transaction's SQLAlchemy Connection (`Cursor(connection)`)
    or over a bare DB-API connection (`Cursor.on(driver_connection, engine.dialect)`).
    """

    def __init__(self, connection: Connection) -> None:
        self.connection: Connection | None = connection
        self._bind(connection.connection.driver_connection, connection.dialect)

    @classmethod
    def on(cls, driver_connection: Any, dialect: Dialect | str) -> Cursor:
        """A Cursor over a DB-API connection (sqlite3 or psycopg), in the transaction its owner runs.
        `dialect`: the engine's (`engine.dialect`, whose type conversions the engine's own statements
        use), or a dialect name for one configured as openrsp's engines are (db/engine.py)."""
        cursor = cls.__new__(cls)
        cursor.connection = None
        cursor._bind(driver_connection, _dialect_named(dialect) if isinstance(dialect, str) else dialect)
        return cursor

    def _bind(self, driver_connection: Any, dialect: Dialect) -> None:
        self.driver = driver_connection
        self.dialect = dialect
        self.dialect_name: str = dialect.name
        dbapi = dialect.loaded_dbapi
        self._integrity_error: type[Exception] = dbapi.IntegrityError
        self._dbapi_error: type[Exception] = dbapi.Error

    def execute(self, statement: Prepared | Executable, values: Mapping[str, Any]) -> int:
        """Run an INSERT/UPDATE/DELETE; how many rows it changed. For an INSERT or an UPDATE
        without .values(), the keys of `values` that name columns are the columns written."""
        return self._run(prepared(statement).plan(self.dialect, values), values).rowcount

    def rows(self, statement: Prepared | Executable, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows a SELECT (or a statement with RETURNING) gives, as dicts keyed by column name."""
        plan = prepared(statement).plan(self.dialect, values)
        cursor = self._run(plan, values)
        return plan.rows(cursor.description, cursor.fetchall())

    def first(self, statement: Prepared | Executable, values: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self.rows(statement, values)
        return found[0] if found else None

    def _run(self, plan: Plan, values: Mapping[str, Any]) -> Any:
        try:
            return self.driver.execute(plan.sql, plan.parameters(values))
        except self._integrity_error as exc:
            raise IntegrityConflict(str(exc)) from None
        except self._dbapi_error as exc:
            # Callers see SQLAlchemy's exceptions, as when SQLAlchemy ran the statement (no values
            # in the message: they may be secrets).
            raise DBAPIError.instance(
                plan.sql, None, exc, self._dbapi_error, hide_parameters=True, dialect=self.dialect
            ) from exc


def _dialect_named(name: str) -> Dialect:
    """A dialect configured as make_engine configures its engines' (JSON columns read by load_json…);
    an engine that never connects, made once per name."""
    with _DIALECTS_LOCK:
        found = _DIALECTS.get(name)
        if found is None:
            found = _DIALECTS[name] = make_engine(f"{name}://").dialect
        return found


_DIALECTS: dict[str, Dialect] = {}
_DIALECTS_LOCK = threading.Lock()


class Transaction:
    """One transaction on a pooled connection (`with Transaction(engine) as cursor:`): committed
    when the block ends, rolled back when it raises."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.turn = _writer_turn(engine)

    def __enter__(self) -> Cursor:
        if self.turn is not None:
            self.turn.acquire()
        try:
            self.connection = self.engine.connect()
            self.connection.begin()
        except BaseException:
            self._release()
            raise
        return Cursor(self.connection)

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        try:
            if kind is None:
                try:
                    self.connection.commit()
                except IntegrityError as exc:  # a deferred constraint, checked at commit
                    raise IntegrityConflict(str(exc.orig)) from None
            else:
                self.connection.rollback()
        finally:
            self._release()

    def _release(self) -> None:
        try:
            connection = getattr(self, "connection", None)
            if connection is not None:
                connection.close()  # back to the pool
        finally:
            if self.turn is not None:
                self.turn.release()


class WriterTurn:
    """Whose turn it is to write an SQLite file, among the SM-DP+'s threads and worker processes.

    SQLite lets one writer in at a time; a writer that finds the file locked polls, sleeping 1,
    2, 5, 10… ms between tries, so with two busy workers one can starve for tens of
    milliseconds while the other keeps taking the lock. An exclusive flock on a file next to the
    database queues the processes in the kernel instead: the next in line wakes the moment the
    lock is free. A flock is held per open file, so the threads of one process queue on a thread
    lock first. Both block: only ever taken in the database's thread pool, never on the event
    loop. Advisory only: anything else opening the database still meets SQLite's own lock.

    `path` None: the process is its server's only writer (see sole_writer_process), so there is
    no other process to queue with; its threads still queue on the thread lock, without a flock
    (two system calls) per transaction.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fd: int | None = None
        self._threads = threading.Lock()

    def acquire(self) -> None:
        self._threads.acquire()
        if self.path is None:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_TURNS: weakref.WeakKeyDictionary[Engine, WriterTurn | None] = weakref.WeakKeyDictionary()
_TURNS_LOCK = threading.Lock()
_SOLE_WRITERS: set[str] = set()  # SQLite files only this process of its server writes


def sole_writer_process(db_url: str) -> None:
    """This process is the only one of its server writing the SQLite database at `db_url`
    (`smdp serve` with one worker): its engines on that file queue their threads without the lock
    file. Call it before the first transaction; with several workers, never."""
    database = make_url(db_url).database
    if database:
        with _TURNS_LOCK:
            _SOLE_WRITERS.add(database)


def is_sole_writer(database: str) -> bool:
    """Whether sole_writer_process was called for this SQLite file in this process."""
    with _TURNS_LOCK:
        return database in _SOLE_WRITERS


def _writer_turn(engine: Engine) -> WriterTurn | None:
    with _TURNS_LOCK:
        if engine not in _TURNS:
            database = engine.url.database if engine.dialect.name == "sqlite" else None
            turn = None
            if database and database != ":memory:" and not database.startswith("file:"):
                turn = WriterTurn(None if database in _SOLE_WRITERS else f"{database}-writer.lock")
            _TURNS[engine] = turn
        return _TURNS[engine]


def begin(engine: Engine) -> Transaction:
    return Transaction(engine)
