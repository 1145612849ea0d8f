"""SQLAlchemy Core statements run straight on the DB-API driver, compiled once per dialect.

Running a Core statement through `Connection.execute` costs about ten times what the driver's own
`execute` does (the compiled-cache look-up, the execution context, events, the result proxy). A
statement of the hot path is fixed, so that machinery gives the same answer every time: `Prepared`
asks SQLAlchemy once per dialect (and, for an INSERT or UPDATE, per set of value keys) for the SQL
and for the type conversions, through its public API only, and then hands the driver the SQL with
a dict of converted values (a named paramstyle: `:name` for sqlite3, `%(name)s` for psycopg).

What SQLAlchemy does per execution and is kept here:
- each bound value converted by its type's processor for the dialect (`dialect_impl(dialect)`:
  variants and TypeDecorators such as UtcDateTime included), each result column by its type's;
- a column's Python-side default (scalar or a callable without arguments) for an INSERT that gives
  no value for it (the compiler's `insert_prefetch`), likewise `onupdate` for an UPDATE;
- a bound literal (`column == "bound"`) sent as its value, unless the values name it.
Statements it cannot run this way are refused when built: expanding IN lists, literal_execute and
callable bind parameters (SQLAlchemy renders or computes those per execution).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Delete, Insert, Select, TextClause, Update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

__all__ = ["Plan", "Prepared", "UnpreparableStatement", "prepared"]

Processor = Callable[[Any], Any]

_RUNNABLE = (Select, Insert, Update, Delete, TextClause)
# sqlite3 takes a dict of values for the named paramstyle; SQLAlchemy's own sqlite dialect says qmark.
_NAMED_SQLITE = sqlite.dialect(paramstyle="named")
_MISSING = object()


class UnpreparableStatement(ValueError):
    """A statement Prepared cannot run on the driver as SQLAlchemy would."""


@dataclass
class Plan:
    """One statement compiled for one dialect (and set of value keys): its SQL, how to build the
    driver's values, how to convert the rows it returns."""

    sql: str
    binds: tuple[tuple[str, Processor | None], ...]
    # bind name -> what it takes when the values do not name it: a constant, or a default's callable
    fallbacks: Mapping[str, tuple[bool, Any]]
    results: tuple[Processor | None, ...] | None  # per result column, in order; None: untyped text()
    names: tuple[str, ...] | None = field(default=None)  # the result columns, from the first cursor
    converting: tuple[tuple[str, Processor], ...] = ()

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's values: each bind's value converted as SQLAlchemy converts it."""
        parameters: dict[str, Any] = {}
        for name, process in self.binds:
            value = values.get(name, _MISSING)
            if value is _MISSING:
                value = self._fallback(name)
            # None too: a JSON column writes None as JSON null unless none_as_null, as SQLAlchemy does
            parameters[name] = value if process is None else process(value)
        return parameters

    def _fallback(self, name: str) -> Any:
        found = self.fallbacks.get(name)
        if found is None:
            raise KeyError(f"no value for bind parameter {name!r}")
        is_callable, value = found
        # SQLAlchemy wraps a default's callable to take the execution context; ours take none.
        return value(None) if is_callable else value

    def rows(
        self, description: Sequence[Sequence[Any]], raw: Iterable[Sequence[Any]]
    ) -> list[dict[str, Any]]:
        """The fetched rows as dicts keyed by the result column names, values converted."""
        names = self.names
        if names is None:
            names = self._learn_names(description)
        converting = self.converting
        found = []
        for row in raw:
            item = dict(zip(names, row, strict=True))
            for name, process in converting:
                item[name] = process(item[name])
            found.append(item)
        return found

    def _learn_names(self, description: Sequence[Sequence[Any]]) -> tuple[str, ...]:
        # The names SQLAlchemy keys its mappings by: the cursor's, as the SQL labels them.
        names = tuple(column[0] for column in description)
        results = (None,) * len(names) if self.results is None else self.results
        if len(names) != len(results) or len(set(names)) != len(names):
            raise UnpreparableStatement(f"result columns {names} do not match the statement's")
        self.converting = tuple(
            (name, process) for name, process in zip(names, results, strict=True) if process is not None
        )
        self.names = names
        return names


class Prepared:
    """A Core statement (built once, a module constant) run on the driver: see the module doc."""

    def __init__(self, statement: Any) -> None:
        if not isinstance(statement, _RUNNABLE):
            raise UnpreparableStatement(
                f"not a SELECT, INSERT, UPDATE, DELETE or text(): {type(statement).__name__}"
            )
        for element in visitors.iterate(statement):
            if isinstance(element, BindParameter):
                _check_bind(element)
        self.statement = statement
        # An INSERT or UPDATE without .values() writes the columns its values name.
        self.by_keys = isinstance(statement, (Insert, Update))
        self._plans: dict[Dialect, dict[frozenset[str] | None, Plan]] = {}

    def plan(self, dialect: Dialect, values: Mapping[str, Any]) -> Plan:
        """The compiled plan for this dialect (and these value keys), compiled on first use."""
        plans = self._plans.get(dialect)
        if plans is None:
            plans = _remember(self._plans, dialect, {}, _DIALECTS_KEPT)
        keys = frozenset(values) if self.by_keys else None
        found = plans.get(keys)
        if found is None:
            found = plans[keys] = _compile(self.statement, dialect, keys)
        return found


# Plans hold the dialect (SQLAlchemy's processors refer to it), so a weak key would never let go:
# the caches below keep the newest entries instead. A process has an engine or two; tests make many.
_DIALECTS_KEPT = 4
_WRAPPED_KEPT = 256
_WRAPPED: dict[Any, Prepared] = {}
_REMEMBERING = threading.Lock()


def prepared(statement: Prepared | Any) -> Prepared:
    """`statement` as a Prepared: itself, or a plain Core statement wrapped once (the newest
    statements wrapped are kept: build statements once, as module constants)."""
    if isinstance(statement, Prepared):
        return statement
    found = _WRAPPED.get(statement)
    if found is None:
        found = _remember(_WRAPPED, statement, Prepared(statement), _WRAPPED_KEPT)
    return found


def _remember(cache: dict[Any, Any], key: Any, value: Any, limit: int) -> Any:
    """cache[key], set to `value` unless another thread set it first; the oldest entries beyond
    `limit` forgotten (readers' dict.get needs no lock)."""
    with _REMEMBERING:
        found = cache.setdefault(key, value)
        while len(cache) > limit:
            del cache[next(iter(cache))]
        return found


def _check_bind(bind: BindParameter[Any]) -> None:
    if bind.expanding or bind.literal_execute:
        raise UnpreparableStatement(
            f"bind parameter {bind.key!r} is rendered per execution (IN list, literal)"
        )
    if bind.callable is not None:
        raise UnpreparableStatement(f"bind parameter {bind.key!r} computes its value per execution")


def _compiling_dialect(dialect: Dialect) -> Dialect:
    """The dialect to compile with: a named paramstyle, so that values go as a dict."""
    if dialect.paramstyle in ("named", "pyformat"):
        return dialect
    if dialect.name == "sqlite":
        return _NAMED_SQLITE
    raise UnpreparableStatement(f"no named paramstyle for {dialect.name} ({dialect.paramstyle})")


def _compile(statement: Any, dialect: Dialect, keys: frozenset[str] | None) -> Plan:
    compiled = statement.compile(
        dialect=_compiling_dialect(dialect), column_keys=None if keys is None else sorted(keys)
    )
    binds: dict[str, Processor | None] = {}
    fallbacks: dict[str, tuple[bool, Any]] = {}
    named: dict[str, str] = {}  # bind key -> its name in the SQL (an anonymous bind's is made at compilation)
    for bind, name in compiled.bind_names.items():
        _check_bind(bind)
        if not name.isidentifier():  # SQLAlchemy would escape it in the SQL, under another name
            raise UnpreparableStatement(f"bind parameter name {name!r}")
        named[bind.key] = name
        if name in binds:  # the same parameter used twice in the statement
            continue
        binds[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if not bind.required:
            fallbacks[name] = (False, bind.value)
    for columns, kind in ((compiled.insert_prefetch, "default"), (compiled.update_prefetch, "onupdate")):
        for column in columns:
            fallbacks[named[column.key]] = _column_default(column, kind)
    if "__[POSTCOMPILE" in compiled.string:
        raise UnpreparableStatement("the statement is rendered per execution")
    results = None  # text(): SQLAlchemy converts none of its result columns either
    if not isinstance(statement, TextClause):
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        )
    return Plan(sql=compiled.string, binds=tuple(binds.items()), fallbacks=fallbacks, results=results)


def _column_default(column: Any, kind: str) -> tuple[bool, Any]:
    default = getattr(column, kind)
    if default.is_scalar:
        return False, default.arg
    if default.is_callable:
        return True, default.arg
    raise UnpreparableStatement(f"column {column.key!r}: its {kind} is neither a value nor a callable")
