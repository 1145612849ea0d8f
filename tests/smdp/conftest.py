"""SM-DP+ fixtures: every storage test runs on SQLite and on PostgreSQL (a fresh database per module)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from smdp_support import OPENRSP, FakeClock, create_database, drop_database, empty_tables

from openrsp.smdp.db.engine import make_engine, migrate, sqlite_url
from openrsp.smdp.repository import Repository
from openrsp.smdp.sealing import Sealer

KEK = bytes(range(32))


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    url = create_database()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A clean database: a new SQLite file, or this module's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "smdp.sqlite")
    url = request.getfixturevalue("pg_database")
    empty_tables(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repo(db_url: str, clock: FakeClock) -> Iterator[Repository]:
    engine = make_engine(db_url)
    migrate(engine)
    repository = Repository(engine, Sealer(KEK), clock)
    try:
        yield repository
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    """One `openrsp pki init` for the session (SM-DP+ TLS, operator and LPA client CAs)."""
    directory = tmp_path_factory.mktemp("smdp-pki") / "pki"
    result = subprocess.run(
        [str(OPENRSP), "pki", "init", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture(scope="session")
def operator_cert(pki_dir: Path) -> tuple[Path, Path]:
    return pki_dir / "operator-tls" / "client.cert.pem", pki_dir / "operator-tls" / "client.key.pem"
