"""SQLite transactions on the event loop, made durable off it (a single-worker SM-DP+'s ES9+ calls).

Handing every ES9+ call to the database thread cost about 1.4 ms of CPU per download (the GIL
passed back and forth between the loop and the thread at every driver call, and a wake-up per
answer). With one worker process on an SQLite file (`smdp serve --workers 1`: the sole writer,
db/transactions.py) nothing in a call has to wait except the disk, so:

- the call's transaction runs on the loop's own connection, which never waits: BEGIN IMMEDIATE
  with no busy timeout (when another connection holds the write lock, `WriterBusy`: the call goes
  to the database thread as before) and COMMIT without an fsync (synchronous=NORMAL, no automatic
  checkpoint on this connection);
- one thread does what waits on the disk: `await durable()` returns once an fdatasync of the WAL
  that started after the caller's commit has finished, and the answer is sent only then. Every
  commit written before a sync starts is covered by it, so the calls of one moment share one fsync
  (group commit). The same thread checkpoints the WAL into the database when it has grown.

A commit on this connection is visible to other connections a moment before it is durable (as with
PostgreSQL's synchronous_commit=off); no answer of the call that made it leaves before it is. A
crash of the process loses nothing (the WAL's pages are the kernel's already); a power cut can
lose only transactions whose answers were never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect

from openrsp.smdp.db.transactions import Cursor, is_sole_writer
from openrsp.smdp.errors import IntegrityConflict

_log = logging.getLogger("openrsp.smdp.db")

# Checkpoint after this many commits: an ES9+ commit writes a handful of pages, so about SQLite's
# own default of 1,000 pages. (The WAL file's size says nothing: it is reused, not truncated.)
CHECKPOINT_COMMITS = 200


class WriterBusy(Exception):
    """Another connection holds the SQLite write lock: run the call where waiting is allowed."""


class LoopWriter:
    """The loop's SQLite connection (transactions that never wait) and the thread that makes them durable."""

    def __init__(self, database_path: str, dialect: Dialect | str = "sqlite") -> None:
        self.path = database_path
        self.wal_path = database_path + "-wal"
        self.dialect = dialect  # the engine's: its type conversions (db/prepared.py)
        self.commits = 0  # commits so far: a caller compares before and after its call
        self._connection: sqlite3.Connection | None = None
        self._unusable: str | None = None  # why this file cannot be written from the loop, if it cannot
        self._checkpointer: sqlite3.Connection | None = None
        self._next: list[asyncio.Future[None]] = []  # callers waiting for the next sync
        self._syncing = False
        self._checkpointed_at = 0  # `commits` at the last checkpoint
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._disk_thread, name="openrsp-wal-sync", daemon=True)
        self._thread.start()

    @classmethod
    def for_engine(cls, engine: Engine) -> LoopWriter | None:
        """A LoopWriter for this engine's SQLite file when this process is its sole writer, else None."""
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        if database.startswith("file:") or not is_sole_writer(database):
            return None
        return cls(database, engine.dialect)

    # -- transactions (on the loop's thread) ----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One transaction on the loop's connection, straight on the driver; WriterBusy before
        anything ran when another connection holds the file. Committed (without fsync) at the end."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if connection.in_transaction:  # not ours to keep
                connection.rollback()
            if "locked" in str(exc) or "busy" in str(exc):
                raise WriterBusy(str(exc)) from None
            raise
        try:
            yield Cursor.on(connection, self.dialect)
        except BaseException:
            connection.rollback()
            raise
        try:
            connection.commit()
        except sqlite3.Error as exc:  # a deferred constraint, a full disk …: the next call starts clean
            if connection.in_transaction:
                connection.rollback()
            if isinstance(exc, sqlite3.IntegrityError):
                raise IntegrityConflict(str(exc)) from None
            raise
        self.commits += 1

    def _connect(self) -> sqlite3.Connection:
        """One connection that never waits and never fsyncs at commit (see the module's docstring).
        WriterBusy when it cannot be had now (the file locked while connecting) or ever (the file
        is not in WAL mode: its durability would not be the WAL's fsync)."""
        if self._unusable is not None:
            raise WriterBusy(self._unusable)
        if self._connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
            try:
                (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
                for pragma in (
                    "busy_timeout=0",
                    "foreign_keys=ON",
                    "synchronous=NORMAL",
                    "wal_autocheckpoint=0",
                ):
                    connection.execute(f"PRAGMA {pragma}")
            except sqlite3.OperationalError as exc:
                connection.close()
                raise WriterBusy(str(exc)) from None
            if str(mode).lower() != "wal":
                connection.close()
                self._unusable = f"{self.path} is in {mode} journal mode, not WAL"
                _log.warning("ES9+ transactions go to the database thread: %s", self._unusable)
                raise WriterBusy(self._unusable)
            self._connection = connection
        return self._connection

    # -- durability (awaited on the loop, done in the disk thread) ---------------------------------

    async def durable(self) -> None:
        """Return once every commit made before this call is on the disk."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._next.append(waiter)
        if not self._syncing:
            # Started at the end of this step of the loop: the other calls that run in it commit
            # first and share the sync.
            self._syncing = True
            loop.call_soon(self._start_sync)
        await waiter

    def _start_sync(self) -> None:
        waiters, self._next = self._next, []
        checkpoint = self.commits - self._checkpointed_at >= CHECKPOINT_COMMITS
        if checkpoint:
            self._checkpointed_at = self.commits
        self._requests.put((asyncio.get_running_loop(), waiters, checkpoint))

    def _synced(self, waiters: list[asyncio.Future[None]], error: OSError | None) -> None:
        self._syncing = False
        for waiter in waiters:
            if waiter.done():  # its caller was cancelled
                continue
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)
        if self._next:  # commits made while that sync ran
            self._syncing = True
            self._start_sync()

    def _disk_thread(self) -> None:
        """The disk thread: one sync per request, then the loop is told (a plain queue and thread:
        no executor machinery per sync)."""
        while (request := self._requests.get()) is not None:
            loop, waiters, checkpoint = request
            error = None
            try:
                self._sync(checkpoint)
            except OSError as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(self._synced, waiters, error)

    def _sync(self, checkpoint: bool) -> None:
        # Opened per sync: the WAL file is this path's, whatever happened to an older descriptor.
        fd = os.open(self.wal_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if checkpoint:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database (PASSIVE: it waits for no reader nor writer; with
        synchronous FULL on this connection it syncs the database file), so the WAL restarts."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._checkpointer.execute("PRAGMA busy_timeout=0")
        try:
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError as exc:  # busy: the next sync tries again
            _log.debug("WAL checkpoint postponed: %s", exc)

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._connection is not None:
            self._connection.close()
