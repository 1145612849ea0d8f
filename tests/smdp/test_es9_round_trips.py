"""How many SQL statements and commits each ES9+ call costs, counted on the real database (SQLite
and PostgreSQL): the statements db/transactions.py's Cursor hands the driver, plus any SQLAlchemy
runs itself (its cursor events), and the commits: the maxima below are what the snapshot read and
the effects apply cost today, so a change that adds a round trip to the hot path fails here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import es9_harness
from es9_harness import b64, download, ok
from sqlalchemy import event

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.smdp.db.transactions import Cursor

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

    run = Cursor._run

    def counted_run(cursor: Cursor, *args):  # each one driver execute of the Cursor's
        on_statement()
        return run(cursor, *args)

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    Cursor._run = counted_run
    try:
        yield counted
    finally:
        Cursor._run = run
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


# Per call: (statements, commits). Before the snapshot/effects core a download cost 21 statements
# (authenticateClient 5, or 6 without a matchingId; getBoundProfilePackage 7; handleNotification 9).
MAXIMA = {
    "initiateAuthentication": (0, 0),  # stores nothing: the transactionId carries the session
    "authenticateClient": (4, 1),  # the order read; the session INSERT; eligibility event + report
    "getBoundProfilePackage": (
        6,
        1,
    ),  # session+profile+package read; order move, event, report; order; session
    "handleNotification": (7, 1),  # session+profile read; notification; move, event, report; order; session
    "cancelSession": (5, 1),  # session+profile read; order move, event, report; session
}


def counted_download(rig, matching_id: str | None, iccid: str) -> dict[str, tuple[int, int]]:
    """A whole download with its install result; the statements and commits of each call."""
    seen: dict[str, tuple[int, int]] = {}

    def call(function: str, body: dict) -> dict:
        with counting(rig.context.database.engine) as counted:
            answer = rig.call(function, body)
        seen[function] = (counted.statements, counted.commits)
        return answer

    run = download(call, rig.euicc, rig.address, matching_id)
    assert rig.euicc.open_package(run.package).profile == rig.package
    result = rig.euicc.install_result(iccid, rig.address, rig.oid)
    ok(call("handleNotification", {"pendingNotification": b64(result)}))
    assert rig.state(iccid) == "Installed"
    return seen


def within_maxima(seen: dict[str, tuple[int, int]]) -> None:
    for function, (statements, commits) in seen.items():
        most, commits_expected = MAXIMA[function]
        assert statements <= most, f"{function}: {statements} statements, at most {most}"
        assert commits == commits_expected, f"{function}: {commits} commits"


def test_an_activation_code_download_costs_at_most_17_statements_and_3_commits(rig):
    iccid, matching_id = rig.released_profile()
    seen = counted_download(rig, matching_id, iccid)
    within_maxima(seen)
    assert sum(s for s, _ in seen.values()) <= 17


def test_a_default_smdp_download_reads_its_order_by_eid_in_one_statement(rig):
    iccid = rig.add_profile()
    rig.order(iccid, eid=rig.euicc.eid)
    seen = counted_download(rig, None, iccid)
    within_maxima(seen)
    assert sum(s for s, _ in seen.values()) <= 17


def test_a_cancelled_session_costs_one_read_and_its_writes(rig):
    iccid, matching_id = rig.released_profile()
    run = download(rig.call, rig.euicc, rig.address, matching_id)
    cancel = rig.euicc.cancel_session(CancelSessionReason.postponed, rig.oid)
    body = {"transactionId": run.transaction_id, "cancelSessionResponse": b64(cancel)}
    with counting(rig.context.database.engine) as counted:
        ok(rig.call("cancelSession", body))
    assert rig.state(iccid) == "Released"
    within_maxima({"cancelSession": (counted.statements, counted.commits)})
