"""How many SQL statements and commits each ES9+ call costs, counted on the real database (SQLite
and PostgreSQL) with SQLAlchemy's cursor events: the maxima below are what the snapshot read and
the effects apply cost today, so a change that adds a round trip to the hot path fails here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import es9_harness
from es9_harness import b64, download, ok
from sqlalchemy import event

clock = es9_harness.clock
rig = es9_harness.rig
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package


@dataclass
class Counted:
    statements: int = 0
    commits: int = 0


@contextmanager
def counting(engine) -> Iterator[Counted]:
    counted = Counted()

    def on_statement(*_args) -> None:
        counted.statements += 1

    def on_commit(*_args) -> None:
        counted.commits += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def counted_call(rig, function: str, body: dict) -> tuple[dict, Counted]:
    with counting(rig.context.repo.engine) as counted:
        answer = rig.call(function, body)
    return answer, counted


def test_statements_per_download(rig):
    iccid, matching_id = rig.released_profile()
    seen: dict[str, Counted] = {}
    engine = rig.context.repo.engine

    def call(function: str, body: dict) -> dict:
        with counting(engine) as counted:
            answer = rig.call(function, body)
        seen[function] = counted
        return answer

    run = download(call, rig.euicc, rig.address, matching_id)
    rig.euicc.open_package(run.package)
    result = rig.euicc.install_result(iccid, rig.address, rig.oid)
    ok(call("handleNotification", {"pendingNotification": b64(result)}))
    assert rig.state(iccid) == "Installed"
    numbers = {name: (c.statements, c.commits) for name, c in seen.items()}
    print(numbers)
    assert numbers == {}
