"""SQLAlchemy Core statements, compiled once per dialect, run straight on the DB-API cursor.

For the few statements of the ES9+ hot path. The SQL text, its parameter order and the type
conversions (UTC datetimes, JSON, booleans…) all come from SQLAlchemy, so the statements are the
ones SQLAlchemy would send; what is skipped is the per-execution machinery (execution context,
result objects, events), which costs several times the statement itself on SQLite.

Transactions: `begin(engine)` checks a connection out of the engine's pool, opens the
transaction as the engine would (SQLite: BEGIN IMMEDIATE, see db/engine.py; after waiting for
its turn, see WriterTurn), and commits or rolls back at the end of the block.
"""

from __future__ import annotations

import fcntl
import os
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from openrsp.smdp.errors import SmdpError

Processor = Callable[[Any], Any] | None


class IntegrityConflict(SmdpError):
    """A statement broke a uniqueness or reference rule (e.g. two callers inserting one key)."""


class Compiled:
    """One statement for one dialect: SQL text, bind order and processors, result processors."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        binds = compiled.binds
        self.names: list[str] = list(compiled.positiontup or []) if self.positional else list(binds)
        self.bind_processors: dict[str, Processor] = {
            name: binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in dict.fromkeys(self.names)
        }
        columns = getattr(statement, "selected_columns", None)
        self.result_processors: list[Processor] = (
            [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
            if columns is not None
            else []
        )
        self.keys: list[str] = [column.key for column in columns] if columns is not None else []

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        missing = [name for name in self.bind_processors if name not in values]
        if missing:
            raise KeyError(f"no value for {', '.join(missing)} in {self.sql!r}")
        processed = {}
        for name, processor in self.bind_processors.items():
            value = values[name]
            processed[name] = processor(value) if processor is not None and value is not None else value
        if self.positional:
            return [processed[name] for name in self.names]
        return processed

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            key: processor(value) if processor is not None else value
            for key, processor, value in zip(self.keys, self.result_processors, raw, strict=True)
        }


class Statements:
    """The compiled forms of statements for one engine's dialect, made on first use."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: dict[tuple[int, tuple[str, ...] | None], Compiled] = {}
        self._keep: list[ClauseElement] = []  # the statements, so their ids stay theirs

    def get(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> Compiled:
        key = (id(statement), tuple(column_keys) if column_keys else None)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = Compiled(statement, self.dialect, column_keys)
            self._keep.append(statement)
        return found


class Cursor:
    """Runs compiled statements on one DB-API cursor inside a transaction."""

    def __init__(self, cursor: Any, statements: Statements) -> None:
        self.cursor = cursor
        self.statements = statements
        self._integrity_error = statements.dialect.dbapi.IntegrityError

    def execute(
        self, statement: ClauseElement, values: Mapping[str, Any], *, column_keys: Sequence[str] | None = None
    ) -> int:
        """Run an INSERT/UPDATE/DELETE; how many rows it changed."""
        compiled = self.statements.get(statement, column_keys)
        try:
            self.cursor.execute(compiled.sql, compiled.parameters(values))
        except self._integrity_error as exc:
            raise IntegrityConflict(str(exc)) from None
        return self.cursor.rowcount

    def rows(self, statement: ClauseElement, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        compiled = self.statements.get(statement)
        self.cursor.execute(compiled.sql, compiled.parameters(values))
        return [compiled.row(raw) for raw in self.cursor.fetchall()]

    def first(self, statement: ClauseElement, values: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self.rows(statement, values)
        return found[0] if found else None


_STATEMENTS: weakref.WeakKeyDictionary[Engine, Statements] = weakref.WeakKeyDictionary()


def statements_for(engine: Engine) -> Statements:
    found = _STATEMENTS.get(engine)
    if found is None:
        found = _STATEMENTS[engine] = Statements(engine.dialect)
    return found


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
            self.connection = self.engine.raw_connection()
            self.cursor = self.connection.cursor()
        except BaseException:
            self._release_turn()
            raise
        try:
            if self.engine.dialect.name == "sqlite":
                self.cursor.execute("BEGIN IMMEDIATE")  # as db/engine.py begins every SQLite transaction
        except BaseException:
            self._release()
            raise
        return Cursor(self.cursor, statements_for(self.engine))

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        try:
            if kind is None:
                self.connection.commit()
            else:
                self.connection.rollback()
        finally:
            self._release()

    def _release(self) -> None:
        try:
            self.cursor.close()
            self.connection.close()  # back to the pool
        finally:
            self._release_turn()

    def _release_turn(self) -> None:
        if self.turn is not None:
            self.turn.release()


class WriterTurn:
    """Whose turn it is to write an SQLite file, among the SM-DP+'s worker processes.

    SQLite lets one writer in at a time; a writer that finds the file locked polls, sleeping 1,
    2, 5, 10… ms between tries, so with two busy workers one can starve for tens of
    milliseconds while the other keeps taking the lock. An exclusive flock on a file next to the
    database queues them in the kernel instead: the next in line wakes the moment the lock is
    free. Advisory only: anything else opening the database still meets SQLite's own lock.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_TURNS: weakref.WeakKeyDictionary[Engine, WriterTurn | None] = weakref.WeakKeyDictionary()


def _writer_turn(engine: Engine) -> WriterTurn | None:
    if engine not in _TURNS:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        turn = None
        if database and database != ":memory:" and not database.startswith("file:"):
            turn = WriterTurn(f"{database}-writer.lock")
        _TURNS[engine] = turn
    return _TURNS[engine]


def begin(engine: Engine) -> Transaction:
    return Transaction(engine)
