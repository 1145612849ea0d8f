"""SM-DP+ fixtures: every storage test runs on SQLite and on PostgreSQL (a fresh database per module)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from smdp_support import (
    OPENRSP,
    FakeClock,
    Served,
    create_database,
    drop_database,
    empty_tables,
    issue_client_cert,
    start_server,
)

from openrsp.rspserver.sealing import Sealer
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.engine import make_engine, migrate, sqlite_url
from openrsp.smdp.inventory import import_packages

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
def database(db_url: str, clock: FakeClock) -> Iterator[SmdpDatabase]:
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield SmdpDatabase(engine, Sealer(KEK), clock)
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


@pytest.fixture(scope="session")
def lpa_cert(pki_dir: Path) -> tuple[Path, Path]:
    return pki_dir / "lpa-tls" / "client.cert.pem", pki_dir / "lpa-tls" / "client.key.pem"


def _serve(backend: str, pki_dir: Path, tmp_path_factory, ts48_dir: Path) -> Iterator[Served]:
    base = tmp_path_factory.mktemp(f"served-{backend}")
    db_url = create_database() if backend == "postgresql" else None
    files = sorted(ts48_dir.glob("*-UNIQUE.der"))
    database = open_database(load_config(data_dir=base / "data", db_url=db_url))
    mine = import_packages(database, files[:14], operator="default")
    theirs = import_packages(database, files[14:16], operator="opB")
    database.engine.dispose()
    operator_ca = pki_dir / "operator-tls"
    op_b = issue_client_cert(operator_ca / "ca.cert.pem", operator_ca / "ca.key.pem", "opB", base / "certs")
    args = ["--lpa-ca", str(pki_dir / "lpa-tls" / "ca.cert.pem"), *(["--db", db_url] if db_url else [])]
    server = start_server(pki_dir, base / "data", *args)
    try:
        yield Served(server, mine, theirs, op_b, load_config(data_dir=base / "data", db_url=db_url).db_url)
    finally:
        server.stop()
        if db_url:
            drop_database(db_url)


@pytest.fixture(scope="session")
def served_sqlite(pki_dir: Path, tmp_path_factory, ts48_dir: Path) -> Iterator[Served]:
    yield from _serve("sqlite", pki_dir, tmp_path_factory, ts48_dir)


@pytest.fixture(scope="session")
def served_postgresql(pki_dir: Path, tmp_path_factory, ts48_dir: Path) -> Iterator[Served]:
    yield from _serve("postgresql", pki_dir, tmp_path_factory, ts48_dir)


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request) -> Served:
    """A real `openrsp smdp serve` per database, started once, with TS.48 profiles of two operators;
    it also wants LPA client certificates (from the `pki init` LPA CA) on ES9+. Tests share it, each
    with its own ICCIDs; mark them xdist_group("smdp-served") so one xdist worker starts it."""
    return request.getfixturevalue(f"served_{request.param}")
