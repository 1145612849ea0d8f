"""The SM-DS's event records on SQLite and PostgreSQL: durable across a restart, the operator's
`smds events list|remove`, and a transactionId that authenticates only once."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from smds_support import Smds, run

from openrsp.smds.store import EventStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "smdp"))
from smdp_support import create_database, drop_database  # noqa: E402

EID = "89001012012341234012345678901224"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = create_database("openrsp_smds")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'smds.sqlite'}"
    return request.getfixturevalue("pg_url")


def test_records_and_used_transactions(db_url: str) -> None:
    store = EventStore.open(db_url)
    try:
        with store.transaction() as conn:
            store.add(conn, EID, "E-STORE-1", "smdp.example.test", "smdp.example.test", None)
        with store.transaction() as conn:
            [record] = store.find(conn, EID, "E-STORE-1")
            assert (record.rsp_server_address, record.registrar) == ("smdp.example.test", "smdp.example.test")
            assert [r.event_id for r in store.for_eid(conn, EID)] == ["E-STORE-1"]
            assert store.for_eid(conn, "8" * 32) == []
        assert [r.event_id for r in store.remove_by_event_id(["E-STORE-1"])] == ["E-STORE-1"]
        assert store.all() == []
        later = datetime.now(UTC) + timedelta(minutes=10)
        assert store.use_transaction("AB" * 16, later) is True
        assert store.use_transaction("AB" * 16, later) is False  # a replay
    finally:
        store.engine.dispose()


def test_events_survive_a_restart_on_postgresql_and_the_operator_removes_them(
    smds_pki: Path, pg_url: str, tmp_path: Path
) -> None:
    smds = Smds(smds_pki, tmp_path / "data", extra=("--db", pg_url)).start()
    try:
        client, target = smds.es12(smds_pki / "tls" / "dptls.chain.pem", smds_pki / "tls" / "dptls.key.pem")
        client.register_event(target, EID, "E-DURABLE", "smdp.example.test", forwarding=False)
        smds.stop()
        smds.start()  # SIGKILLed and back: the record is in the database
        listed = run("smds", "events", "list", "--db", pg_url, "--json")
        assert [e["eventId"] for e in json.loads(listed.stdout)] == ["E-DURABLE"]
        text = run("smds", "events", "list", "--db", pg_url)
        assert "E-DURABLE" in text.stdout and "smdp.example.test" in text.stdout
        removed = run("smds", "events", "remove", "--db", pg_url, "E-DURABLE")
        assert removed.returncode == 0 and "removed E-DURABLE" in removed.stdout
        again = run("smds", "events", "remove", "--db", pg_url, "E-DURABLE")
        assert again.returncode == 1 and "no event record for E-DURABLE" in again.stderr
        assert "Traceback" not in again.stderr
        assert json.loads(run("smds", "events", "list", "--db", pg_url, "--json").stdout) == []
    finally:
        smds.stop()


def test_serve_without_credentials_says_so_in_one_line(tmp_path: Path) -> None:
    result = run("smds", "serve", "--data", str(tmp_path / "data"), "--port", "1")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error:") and "credentials" in result.stderr
    assert "Traceback" not in result.stderr
