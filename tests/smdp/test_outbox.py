"""The outbox (SQLite and PostgreSQL): written with the change that needs it, delivered with back-off,
refusals kept and not retried, one row never delivered twice at once; and ConfirmOrder's SM-DS
registration and the deletion when an order ends, which go through it."""

from __future__ import annotations

import random

import pytest

from openrsp.smdp.db.profiles import NewProfile, add_profiles
from openrsp.smdp.errors import Es2Error
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.outbox import DELIVERED, FAILED, PENDING, Outbox, OutboxRefused, OutboxRetry, enqueue
from openrsp.smdp.smds_events import DELETE, REGISTER, SmdsRegistrar

EID = "89049032123451234512345678901235"
ICCID = "8900000000000000001"


class Smds:
    """Stands in for the SM-DS at the other end of the deliverer: records calls, answers as told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.answers: list[Exception | None] = []

    def __call__(self, kind: str, target: str, payload: dict) -> None:
        self.calls.append((kind, target, payload))
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer


def _queue(database, clock, kind: str = "test.call", target: str = "peer.example") -> int:
    with database.transaction() as connection:
        return enqueue(connection, kind, target, {"n": 1}, clock())


def test_retries_back_off_then_deliver(database, clock) -> None:
    peer = Smds()
    peer.answers = [OutboxRetry("down"), OutboxRetry("still down"), None]
    outbox = Outbox(database.engine, peer, clock)
    item = _queue(database, clock)
    assert outbox.run_once() == 1
    assert outbox.run_once() == 0  # not due yet: 1 s back-off
    clock.advance(seconds=1)
    assert outbox.run_once() == 1
    clock.advance(seconds=1)
    assert outbox.run_once() == 0  # 2 s now
    clock.advance(seconds=1)
    assert outbox.run_once() == 1
    [row] = outbox.items()
    assert (row["id"], row["state"], row["attempts"]) == (item, DELIVERED, 3)
    assert row["delivered_at"] == clock()
    assert len(peer.calls) == 3


def test_a_refusal_is_recorded_and_not_retried(database, clock) -> None:
    peer = Smds()
    peer.answers = [OutboxRefused("8.9.5/3.3: in use")]
    outbox = Outbox(database.engine, peer, clock)
    _queue(database, clock)
    outbox.run_once()
    clock.advance(hours=1)
    assert outbox.run_once() == 0
    [row] = outbox.items()
    assert row["state"] == FAILED and "3.3" in row["last_error"]


def test_a_row_is_never_delivered_by_two_nodes_at_once(database, clock) -> None:
    seen: list[object] = []
    other = Outbox(database.engine, lambda *_: seen.append("other"), clock)

    def deliver_while_the_other_node_tries(*_args: object) -> None:
        seen.append(other.attempt(item))  # the row is claimed: the other node gets nothing

    item = _queue(database, clock)
    Outbox(database.engine, deliver_while_the_other_node_tries, clock).run_once()
    assert seen == [None]
    assert other.run_once() == 0  # and once delivered, it is gone for everyone


def test_a_target_that_is_down_keeps_its_order(database, clock) -> None:
    peer = Smds()
    peer.answers = [OutboxRetry("down")]
    outbox = Outbox(database.engine, peer, clock)
    _queue(database, clock, "smds.registerEvent", "smds.example")
    _queue(database, clock, "smds.deleteEvent", "smds.example")
    _queue(database, clock, "other", "elsewhere.example")
    outbox.run_once()
    assert [c[0] for c in peer.calls] == ["smds.registerEvent", "other"]  # the deletion waits its turn
    clock.advance(seconds=1)
    outbox.run_once()
    assert [c[0] for c in peer.calls][2:] == ["smds.registerEvent", "smds.deleteEvent"]


def test_a_rolled_back_change_leaves_no_call(database, clock) -> None:
    with pytest.raises(RuntimeError), database.transaction() as connection:
        enqueue(connection, "test.call", "peer.example", {}, clock())
        raise RuntimeError("the change failed")
    assert Outbox(database.engine, Smds(), clock).items() == []


# --- ConfirmOrder with an SM-DS, and the end of the order ------------------------------------------------


@pytest.fixture
def es2(database, clock):
    add_profiles(database, [NewProfile(ICCID, b"p1", "gold")], "op")

    def service(peer: Smds) -> Es2Service:
        return Es2Service(
            database, operator="op", address="smdp.example:8443", clock=clock,
            rng=random.Random(3).randbytes, smds=SmdsRegistrar(peer),
        )  # fmt: skip

    return service


def _confirm(service: Es2Service) -> dict:
    service.download_order({"iccid": ICCID, "eid": EID})
    return service.confirm_order({"iccid": ICCID, "smdsAddress": "SMDS.example:8444", "releaseFlag": True})


def test_confirm_registers_the_event_before_answering(es2, database, clock) -> None:
    peer = Smds()
    service = es2(peer)
    answer = _confirm(service)
    assert peer.calls == [
        (REGISTER, "smds.example:8444", {"eid": EID, "eventId": answer["matchingId"],
                                        "rspServerAddress": "smdp.example:8443", "forwardingIndicator": True}),
    ]  # fmt: skip
    [row] = Outbox(database.engine, peer, clock).items()
    assert row["state"] == DELIVERED
    # The order ends: its event is deleted (queued in the same transaction, then delivered).
    service.cancel_order({"iccid": ICCID, "eid": EID, "finalProfileStatusIndicator": "Available"})
    outbox = Outbox(database.engine, peer, clock)
    [_, deletion] = outbox.items()
    assert (deletion["kind"], deletion["state"]) == (DELETE, PENDING)
    assert deletion["payload"] == {"eid": EID, "eventId": answer["matchingId"]}
    outbox.run_once()
    assert peer.calls[-1] == (DELETE, "smds.example:8444", {"eid": EID, "eventId": answer["matchingId"]})


def test_confirm_with_the_smds_down_answers_8_9_5_1_and_keeps_the_registration(es2, database, clock) -> None:
    peer = Smds()
    peer.answers = [OutboxRetry("connection refused")]
    service = es2(peer)
    with pytest.raises(Es2Error) as error:
        _confirm(service)
    assert (error.value.subject_code, error.value.reason_code) == ("8.9", "5.1")
    assert service.profile_status({"iccid": ICCID})["state"] == "Released"
    outbox = Outbox(database.engine, peer, clock)
    [row] = outbox.items()
    assert (row["kind"], row["state"], row["attempts"]) == (REGISTER, PENDING, 1)
    clock.advance(seconds=1)
    outbox.run_once()  # the SM-DS is back
    assert outbox.items()[0]["state"] == DELIVERED


def test_confirm_refused_by_the_smds_answers_8_9_4_2_and_changes_nothing(es2, database, clock) -> None:
    peer = Smds()
    peer.answers = [OutboxRefused("1.1/1.2: not allowed")]
    service = es2(peer)
    with pytest.raises(Es2Error) as error:
        _confirm(service)
    assert (error.value.subject_code, error.value.reason_code) == ("8.9", "4.2")
    assert service.profile_status({"iccid": ICCID})["state"] == "Linked"
    assert Outbox(database.engine, peer, clock).items() == []


def test_confirm_with_an_smds_needs_an_eid(es2) -> None:
    service = es2(Smds())
    service.download_order({"iccid": ICCID})
    with pytest.raises(Es2Error) as error:
        service.confirm_order({"iccid": ICCID, "smdsAddress": "smds.example", "releaseFlag": True})
    assert (error.value.subject_code, error.value.reason_code) == ("8.1.1", "2.2")


def test_the_poll_for_due_calls_does_not_wait_for_a_writer(tmp_path, clock) -> None:
    """Every node looks for due calls every second: on SQLite that read takes no write lock, so it
    neither waits for a writer nor holds the writers (the ES9+ calls on the event loop) up.
    (PostgreSQL's reads never take a write lock.)"""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    from openrsp.smdp.db.engine import make_engine, migrate, sqlite_url

    path = tmp_path / "outbox.sqlite"
    engine = make_engine(sqlite_url(path))
    migrate(engine)
    writer = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a writer holds the file (the engine would wait 60 s)
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(Outbox(engine, Smds(), clock).run_once).result(timeout=5) == 0
    finally:
        writer.rollback()
        writer.close()
        engine.dispose()
