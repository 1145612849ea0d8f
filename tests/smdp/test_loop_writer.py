"""SQLite transactions on the event loop, durable before anyone is answered (db/loop_writer.py)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from openrsp.rspserver.database import make_engine, sqlite_url
from openrsp.smdp.db import loop_writer, transactions
from openrsp.smdp.db.loop_writer import LoopWriter, WriterBusy

INSERT = text("INSERT INTO t (v) VALUES (:v)")


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "loop.sqlite")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    setup.close()
    return path


@pytest.fixture
def writer(database: str):
    writer = LoopWriter(database)
    yield writer
    writer.close()


def _count(path: str) -> int:
    reader = sqlite3.connect(path)
    try:
        return reader.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        reader.close()


def _insert(writer: LoopWriter, size: int = 100) -> int:
    with writer.transaction() as cursor:
        cursor.execute(INSERT, {"v": os.urandom(size)})
    return writer.commits


def test_every_answer_waits_for_a_sync_that_began_after_its_commit(writer, monkeypatch):
    syncs: list[int] = []  # the commit count as each fdatasync of the WAL began
    real_fdatasync = os.fdatasync

    def recording_fdatasync(fd: int) -> None:
        syncs.append(writer.commits)
        real_fdatasync(fd)

    monkeypatch.setattr(loop_writer.os, "fdatasync", recording_fdatasync)

    async def call() -> None:
        mine = _insert(writer)
        await writer.durable()
        assert any(began >= mine for began in syncs), "answered before its commit was synced"

    async def main() -> None:
        for _ in range(20):
            await asyncio.gather(*(call() for _ in range(8)))

    asyncio.run(main())
    assert writer.commits == 160
    # Calls of one moment share a sync (group commit): far fewer syncs than commits.
    assert len(syncs) < 160 / 2


def test_a_file_locked_by_another_writer_sends_the_call_elsewhere_at_once(writer, database):
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(WriterBusy), writer.transaction():
            pytest.fail("the block must not run while another connection writes")
        # no busy wait on the loop (the engines' busy timeout is 60 s)
        assert time.monotonic() - started < 5
    finally:
        other.rollback()
        other.close()
    assert _insert(writer) == 1  # the connection is usable again once the file is free
    assert _count(database) == 1


def test_a_failing_block_leaves_nothing_behind(writer, database):
    with pytest.raises(RuntimeError), writer.transaction() as cursor:
        cursor.execute(INSERT, {"v": b"x"})
        raise RuntimeError("the decision failed")
    assert (writer.commits, _count(database)) == (0, 0)
    _insert(writer)
    assert _count(database) == 1


async def _commit_when_free(writer: LoopWriter, size: int = 3000) -> None:
    """A call as the server makes it: ready() (a checkpoint may be running), its transaction, then
    durable() before the answer."""
    await writer.ready()
    _insert(writer, size)  # about a page per commit
    await writer.durable()


def test_the_wal_is_checkpointed_so_it_stays_bounded(writer, database):
    async def main() -> None:
        for _ in range(2000):
            await _commit_when_free(writer)

    asyncio.run(main())
    assert _count(database) == 2000
    # Without checkpoints the WAL would hold every commit's pages (about 25 MB here); checkpointed
    # every CHECKPOINT_COMMITS commits, it restarts from its beginning (about 2.5 MB).
    assert Path(database + "-wal").stat().st_size < 8 << 20


def test_the_wal_stays_bounded_while_calls_keep_committing(writer, database):
    """Calls that commit while earlier ones still wait for their sync, as many connections do: a
    checkpoint has to win against writers that do not pause (a PASSIVE one never caught up with
    them, and the WAL grew by every commit: 25 MB here)."""

    async def device() -> None:
        answers = []
        for _ in range(250):
            await writer.ready()
            _insert(writer, 3000)
            answers.append(asyncio.ensure_future(writer.durable()))
            await asyncio.sleep(0)
        await asyncio.gather(*answers)

    async def main() -> None:
        await asyncio.gather(*(device() for _ in range(8)))

    asyncio.run(main())
    assert _count(database) == 2000
    assert Path(database + "-wal").stat().st_size < 12 << 20


def test_a_failed_sync_fails_its_waiters(writer, monkeypatch):
    def broken_disk(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(loop_writer.os, "fdatasync", broken_disk)

    async def main() -> None:
        _insert(writer)
        with pytest.raises(OSError):
            await writer.durable()
        monkeypatch.undo()  # the disk is back: the next commit's sync works (the WAL opened again)
        _insert(writer)
        await writer.durable()

    asyncio.run(main())


def test_only_the_sole_writer_of_an_sqlite_file_writes_on_the_loop(tmp_path):
    shared = make_engine(sqlite_url(tmp_path / "shared.sqlite"))
    alone_url = sqlite_url(tmp_path / "alone.sqlite")
    transactions.sole_writer_process(alone_url)
    alone = make_engine(alone_url)
    postgres = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    try:
        assert LoopWriter.for_engine(shared) is None  # several workers: the thread pool and its lock file
        assert LoopWriter.for_engine(postgres) is None  # waits on the network: the thread pool
        writer = LoopWriter.for_engine(alone)
        assert writer is not None
        writer.close()
    finally:
        for engine in (shared, alone, postgres):
            engine.dispose()


def test_a_file_not_in_wal_mode_is_never_written_from_the_loop(tmp_path):
    path = str(tmp_path / "rollback.sqlite")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=DELETE")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    setup.close()
    writer = LoopWriter(path)
    try:
        for _ in range(2):  # and it stays so: every call goes to the database thread
            with pytest.raises(WriterBusy, match="not WAL"), writer.transaction():
                pytest.fail("no transaction without the WAL to fsync")
    finally:
        writer.close()
    assert _count(path) == 0


def test_a_failing_checkpoint_leaves_the_syncs_going(writer, database, monkeypatch, caplog):
    _insert(writer)  # the loop's own connection exists; only the checkpoint's is still to open

    def broken_connect(*_args, **_kwargs):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(loop_writer.sqlite3, "connect", broken_connect)

    async def main() -> None:
        for _ in range(loop_writer.CHECKPOINT_COMMITS + 50):
            # a dead disk thread would hang here
            await asyncio.wait_for(_commit_when_free(writer, 100), timeout=10)

    asyncio.run(main())
    monkeypatch.undo()
    assert _count(database) == loop_writer.CHECKPOINT_COMMITS + 51
    assert "WAL checkpoint" in caplog.text and "malformed" in caplog.text
