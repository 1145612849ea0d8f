"""The database's thread pool: where an event loop sends its (blocking) database work.

Sized to what the database can do at once: SQLite takes one writer at a time (every SM-DP+
transaction writes), so one thread; PostgreSQL as many as the engine's connection pool holds.
Nothing that waits on the database, on the SQLite writer lock or on its flock ever runs on the
event loop's thread: a slow fsync stalls the calls queued behind it, not every connection.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine

_T = TypeVar("_T")


def database_threads(engine: Engine) -> int:
    if engine.dialect.name == "sqlite":
        return 1
    size = getattr(engine.pool, "size", None)
    return max(1, size()) if callable(size) else 4


class DatabaseExecutor:
    """Runs blocking calls in a pool of database_threads(engine) threads."""

    def __init__(self, engine: Engine) -> None:
        self.threads = database_threads(engine)
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="openrsp-db")

    async def run(self, function: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
