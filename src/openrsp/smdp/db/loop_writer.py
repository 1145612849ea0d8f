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
  (group commit). The same thread checkpoints the WAL into the database every CHECKPOINT_COMMITS
  commits, so that it restarts instead of growing; the loop's calls wait for it (`ready()`)
  without blocking the loop.

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

# Checkpoint after this many commits: an ES9+ commit writes about a dozen pages (tables and their
# indexes), so about 2,500 pages or 10 MB of WAL. (The WAL file's size says nothing: it is reused.)
CHECKPOINT_COMMITS = 200
CHECKPOINT_WAIT_SECONDS = 5.0  # how long a checkpoint waits for the writer or readers of the moment


_CHECKPOINT = object()  # a request to the disk thread: checkpoint the WAL


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class WriterBusy(Exception):
    """The call cannot run on the loop's connection now: another connection holds the SQLite write
    lock (`locked`: it may be free in a moment), or the file cannot be written from the loop at all."""

    def __init__(self, reason: str, *, locked: bool = False) -> None:
        super().__init__(reason)
        self.locked = locked


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
        self._checkpoint_pending = False  # asked of the disk thread, not done yet: the loop waits
        self._after_checkpoint: list[asyncio.Future[None]] = []  # calls waiting in ready()
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._wal_fd: int | None = None  # the disk thread's
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
        if self._checkpoint_pending:  # the disk thread copies the WAL: keep out of its way (ready())
            raise WriterBusy("the WAL is being checkpointed")
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if connection.in_transaction:  # not ours to keep
                connection.rollback()
            if "locked" in str(exc) or "busy" in str(exc):
                raise WriterBusy(str(exc), locked=True) from None
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
        if self.commits - self._checkpointed_at >= CHECKPOINT_COMMITS:  # by commits, not syncs:
            self._checkpointed_at = self.commits  # however fast the calls come, the WAL stays bounded
            self._checkpoint_pending = True
            self._requests.put((_CHECKPOINT, _running_loop()))

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
                raise WriterBusy(str(exc), locked=True) from None
            if str(mode).lower() != "wal":
                connection.close()
                self._unusable = f"{self.path} is in {mode} journal mode, not WAL"
                _log.warning("ES9+ transactions go to the database thread: %s", self._unusable)
                raise WriterBusy(self._unusable)
            self._connection = connection
        return self._connection

    async def ready(self) -> None:
        """Return once the loop may write: at once, unless the disk thread is checkpointing the WAL
        (every CHECKPOINT_COMMITS commits, a few milliseconds), when the call waits without
        blocking the loop."""
        while self._checkpoint_pending:
            waiter = asyncio.get_running_loop().create_future()
            self._after_checkpoint.append(waiter)
            await waiter

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
        self._requests.put((asyncio.get_running_loop(), waiters))

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
        """The disk thread: syncs (then the loop is told) and checkpoints, in the order asked (a
        plain queue and thread: no executor machinery per sync)."""
        while (request := self._requests.get()) is not None:
            if request[0] is _CHECKPOINT:
                self._close_wal()
                try:
                    self._checkpoint()
                except Exception as exc:  # the thread must live on: a later one tries again
                    _log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
                self._tell(request[1], self._checkpointed)
                continue
            loop, waiters = request
            error = None
            try:
                self._sync()
            except OSError as exc:  # the waiters' commits may not be on the disk: they fail
                error = exc
            self._tell(loop, self._synced, waiters, error)

    def _tell(self, loop: asyncio.AbstractEventLoop | None, callback: Any, *args: Any) -> None:
        """Run callback on the loop's thread (or here, with no loop to tell)."""
        if loop is None:
            callback(*args)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(callback, *args)

    def _checkpointed(self) -> None:
        self._checkpoint_pending = False
        waiters, self._after_checkpoint = self._after_checkpoint, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _sync(self) -> None:
        # The WAL stays open between syncs (two system calls and two hand-overs of the GIL fewer
        # each time): the loop's connection holds the file, so SQLite neither deletes nor replaces
        # it; it is opened again after each checkpoint all the same, and after a failure.
        if self._wal_fd is None:
            self._wal_fd = os.open(self.wal_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fdatasync(self._wal_fd)
        except OSError:
            self._close_wal()
            raise

    def _close_wal(self) -> None:
        if self._wal_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._wal_fd)
            self._wal_fd = None

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and have the next writer start the WAL again from its
        beginning (RESTART; the database file is synced). The loop writes nothing meanwhile (its
        calls wait in ready()); RESTART waits for a writer of the database thread and keeps new
        ones out while it copies. (A PASSIVE checkpoint beside a loop that kept committing never
        caught up, and the WAL grew by every commit.)"""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=CHECKPOINT_WAIT_SECONDS
            )
        busy, _frames, _copied = self._checkpointer.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        if busy:  # a reader or writer held on past the wait: the next checkpoint tries again
            _log.info("WAL checkpoint of %s not complete: the file stayed busy", self.path)

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join()
        self._close_wal()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._connection is not None:
            self._connection.close()
