"""SQLite writers' turn (db/transactions.py): a lock file shared by a server's worker processes,
none when the process is its server's only writer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from openrsp.rspserver.database import make_engine, sqlite_url
from openrsp.smdp.db import transactions

CREATE = text("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
INSERT = text("INSERT INTO t (n) VALUES (:n)")


def _write(url: str, n: int = 1) -> None:
    engine = make_engine(url)
    try:
        with transactions.begin(engine) as cursor:
            cursor.execute(CREATE, {})
            cursor.execute(INSERT, {"n": n})
    finally:
        engine.dispose()


def test_several_workers_queue_on_a_lock_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "shared.sqlite")
    _write(url)
    lock = tmp_path / "shared.sqlite-writer.lock"
    assert lock.exists() and lock.stat().st_mode & 0o777 == 0o600


def test_the_only_writer_process_takes_no_lock_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "alone.sqlite")
    transactions.sole_writer_process(url)
    _write(url)
    assert not (tmp_path / "alone.sqlite-writer.lock").exists()
