"""handleDownloadProgressInfo: the operator hears how its downloads go, durably (the outbox), without
holding anything up."""

from __future__ import annotations

import threading

import pytest
from smdp_support import CallbackServer
from store_support import event_names, move, profile, report

from openrsp.smdp.db import operators, order_moves, profiles
from openrsp.smdp.db.profiles import NewProfile
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es2.progress import PROGRESS, ProgressDeliverer
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.outbox import DELIVERED, PENDING, Outbox
from openrsp.smdp.states import Event

ICCID = "8900000000000000001"
EID = "89049032123451234512345678901235"


@pytest.fixture
def callback():
    server = CallbackServer(fail_first=1)
    yield server
    server.close()


@pytest.fixture
def outbox(database, clock):
    deliverer = ProgressDeliverer(timeout=2)
    yield Outbox(database.engine, deliverer, clock)
    deliverer.close()


def deliver_all(outbox: Outbox, clock, rounds: int = 8) -> None:
    """What the nodes' outbox workers do over time: deliver what is due, again after each back-off."""
    for _ in range(rounds):
        outbox.run_once()
        clock.advance(seconds=60)


def released(database, callback_url: str | None) -> None:
    profiles.add_profiles(database, [NewProfile(ICCID, b"pkg", "gold")], "op")
    with database.transaction() as connection:
        operators.ensure_operator(connection, "op", database.clock(), callback_url=callback_url or "")
    es2 = Es2Service(database, operator="op", address="smdp.example")
    es2.download_order({"iccid": ICCID, "eid": EID})
    es2.confirm_order({"iccid": ICCID, "releaseFlag": True})


def test_the_operator_hears_download_and_installation(database, callback, outbox, clock):
    released(database, callback.url)
    for event in (Event.BPP_DELIVERED, Event.INSTALLED):
        move(database, ICCID, event)
    deliver_all(outbox, clock)
    bodies = callback.bodies
    assert [b["notificationPointId"] for b in bodies] == [
        3,
        4,
    ]  # the operator's own ES2+ calls are not echoed
    first = bodies[0]
    assert first["iccid"] == ICCID and first["eid"] == EID and first["profileType"] == "gold"
    assert first["notificationPointStatus"] == {"status": "Executed-Success"}
    assert first["timestamp"] == "2026-01-02T03:04:05Z"
    assert first["header"]["functionRequesterIdentifier"] and first["header"]["functionCallIdentifier"]
    assert callback.headers[0]["X-Admin-Protocol"].startswith("gsma/rsp/v2.")  # after one retry (500)


def test_failures_and_steps_without_a_state_change_are_reported_too(database, callback, outbox, clock):
    released(database, callback.url)
    failed = ProgressPoint(2, success=False, status_code_data={"subjectCode": "8.2.7", "reasonCode": "3.8"})
    report(database, ICCID, failed, "confirmationCodeRefused")
    move(database, ICCID, Event.BPP_DELIVERED)
    move(database, ICCID, Event.INSTALL_FAILED, point=ProgressPoint(4, success=False, result_data="vzcA"))
    deliver_all(outbox, clock)
    bodies = callback.bodies
    assert [(b["notificationPointId"], b["notificationPointStatus"]["status"]) for b in bodies] == [
        (2, "Failed"),
        (3, "Executed-Success"),
        (4, "Failed"),
    ]
    assert bodies[0]["notificationPointStatus"]["statusCodeData"] == {
        "subjectCode": "8.2.7",
        "reasonCode": "3.8",
    }
    assert bodies[2]["resultData"] == "vzcA"
    events = event_names(database, ICCID)
    assert events[-3:] == ["confirmationCodeRefused", "bppDelivered", "installFailed"]


def test_nothing_is_sent_when_the_transaction_rolls_back(database, callback, outbox, clock):
    released(database, callback.url)
    with pytest.raises(RuntimeError), database.transaction() as connection:
        row = profiles.get_profile(connection, ICCID, lock=True)
        order_moves.move(connection, order_moves.subject_of(row), Event.BPP_DELIVERED, clock())
        raise RuntimeError("something failed after the state change")
    assert profile(database, ICCID).state == "Released"
    for event in (Event.BPP_DELIVERED, Event.INSTALLED):
        move(database, ICCID, event)
    # reports go out in order: a leaked report of the rolled-back change would come first
    deliver_all(outbox, clock)
    assert [b["notificationPointId"] for b in callback.bodies] == [3, 4]


def test_a_slow_operator_never_holds_up_the_download(database, outbox, clock):
    """The callback endpoint does not answer until the state change is done and visible."""
    gate = threading.Event()
    slow = CallbackServer(hold=gate)
    try:
        released(database, slow.url)
        delivery = threading.Thread(target=outbox.run_once, daemon=True)
        move(database, ICCID, Event.BPP_DELIVERED)
        delivery.start()  # a node's outbox worker posts the report; the operator sits on it
        assert profile(database, ICCID).state == "Downloaded"
        assert slow.bodies == []  # the operator has not even been answered yet
        gate.set()
        delivery.join(10)
        assert [b["notificationPointId"] for b in slow.bodies] == [3]
    finally:
        gate.set()
        slow.close()


def test_an_unreachable_operator_holds_up_nothing_and_its_reports_wait(database, outbox, clock):
    released(database, "http://127.0.0.1:9/unreachable")  # discard port: nothing listens
    move(database, ICCID, Event.BPP_DELIVERED)
    assert outbox.run_once() == 1
    assert profile(database, ICCID).state == "Downloaded"
    [row] = outbox.items(PROGRESS)
    assert (row["state"], row["attempts"]) == (PENDING, 1)  # kept, to try again after its back-off
    assert row["last_error"]


def test_operator_down_then_up_every_report_arrives_exactly_once_per_key(database, outbox, clock):
    """The operator's endpoint is down while reports pile up (and a node dies with one claimed);
    once it is back, each report arrives once, in order, under its own idempotency key."""
    from ports import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/gsma/rsp2/es2plus/handleDownloadProgressInfo"
    released(database, url)
    report(database, ICCID, ProgressPoint(1), "eligibilityCheck")
    for event in (Event.BPP_DELIVERED, Event.INSTALLED):
        move(database, ICCID, event)
    rows = outbox.items(PROGRESS)
    keys = [row["idempotency_key"] for row in rows]
    assert len(rows) == 3 and len(set(keys)) == 3
    for _ in range(3):  # down: every round fails (the rest of a round waits behind the first)
        outbox.run_once()
        clock.advance(seconds=60)
    assert all(row["state"] == PENDING for row in outbox.items(PROGRESS))
    assert outbox._claim(rows[0]["id"]) is not None  # a node claims the first one, then dies

    server = CallbackServer(port=port)
    try:
        deliver_all(outbox, clock)  # the claim's lease runs out; any node delivers
        deliver_all(outbox, clock)  # nothing left: nothing sent again
    finally:
        server.close()
    received = [body["header"]["functionCallIdentifier"] for body in server.bodies]
    assert received == keys
    assert [body["notificationPointId"] for body in server.bodies] == [1, 3, 4]
    assert [row["state"] for row in outbox.items(PROGRESS)] == [DELIVERED] * 3
