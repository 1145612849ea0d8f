"""handleDownloadProgressInfo: the operator hears how its downloads go, without holding anything up."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openrsp.smdp.es2plus import Es2Service
from openrsp.smdp.progress import ProgressNotifier
from openrsp.smdp.repository import NewProfile, ProgressPoint
from openrsp.smdp.states import Event

ICCID = "8900000000000000001"
EID = "89049032123451234512345678901235"


class CallbackServer:
    """The operator's callback endpoint: records bodies; answers 500 to the first `fail_first` calls,
    and waits for `hold` (when given) before answering anything."""

    def __init__(self, fail_first: int = 0, hold: threading.Event | None = None) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hold is not None:
                    hold.wait(30)
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    self.send_response(500)
                else:
                    outer.bodies.append(body)
                    outer.headers.append(dict(self.headers))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/gsma/rsp2/es2plus/handleDownloadProgressInfo"

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.bodies

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def callback():
    server = CallbackServer(fail_first=1)
    yield server
    server.close()


@pytest.fixture
def notifier():
    notifier = ProgressNotifier(backoff=0.05)
    yield notifier
    notifier.close()


def released(repo, callback_url: str | None) -> None:
    repo.add_profiles([NewProfile(ICCID, b"pkg", "gold")], "op")
    with repo.transaction() as session:
        repo.ensure_operator(session, "op", callback_url=callback_url or "")
    es2 = Es2Service(repo, operator="op", address="smdp.example")
    es2.download_order({"iccid": ICCID, "eid": EID})
    es2.confirm_order({"iccid": ICCID, "releaseFlag": True})


def test_the_operator_hears_download_and_installation(repo, callback, notifier, clock):
    repo.on_progress = notifier.submit
    released(repo, callback.url)
    for event in (Event.BPP_DELIVERED, Event.INSTALLED):
        with repo.transaction() as session:
            repo.transition(session, repo.get_profile(session, ICCID, lock=True), event)
    bodies = callback.wait_for(2)
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


def test_failures_and_steps_without_a_state_change_are_reported_too(repo, callback, notifier):
    repo.on_progress = notifier.submit
    released(repo, callback.url)
    with repo.transaction() as session:
        profile = repo.get_profile(session, ICCID, lock=True)
        failed = ProgressPoint(
            2, success=False, status_code_data={"subjectCode": "8.2.7", "reasonCode": "3.8"}
        )
        repo.report_progress(session, profile, failed, event_="confirmationCodeRefused")
    with repo.transaction() as session:
        repo.transition(session, repo.get_profile(session, ICCID, lock=True), Event.BPP_DELIVERED)
    with repo.transaction() as session:
        profile = repo.get_profile(session, ICCID, lock=True)
        point = ProgressPoint(4, success=False, result_data="vzcA")
        repo.transition(session, profile, Event.INSTALL_FAILED, progress=point)
    bodies = callback.wait_for(3)
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
    with repo.transaction() as session:
        events = [e.event for e in repo.events(session, ICCID)]
    assert events[-3:] == ["confirmationCodeRefused", "bppDelivered", "installFailed"]


def test_nothing_is_sent_when_the_transaction_rolls_back(repo, callback, notifier):
    repo.on_progress = notifier.submit
    released(repo, callback.url)
    with pytest.raises(RuntimeError), repo.transaction() as session:
        repo.transition(session, repo.get_profile(session, ICCID, lock=True), Event.BPP_DELIVERED)
        raise RuntimeError("something failed after the state change")
    with repo.transaction() as session:
        assert repo.get_profile(session, ICCID).state == "Released"
    for event in (Event.BPP_DELIVERED, Event.INSTALLED):
        with repo.transaction() as session:
            repo.transition(session, repo.get_profile(session, ICCID, lock=True), event)
    # reports go out in order: a leaked report of the rolled-back change would come first
    assert [b["notificationPointId"] for b in callback.wait_for(2)] == [3, 4]


def test_a_slow_operator_never_holds_up_the_download(repo, notifier):
    """The callback endpoint does not answer until the state change is done and visible."""
    gate = threading.Event()
    slow = CallbackServer(hold=gate)
    try:
        repo.on_progress = notifier.submit
        released(repo, slow.url)
        with repo.transaction() as session:
            repo.transition(session, repo.get_profile(session, ICCID, lock=True), Event.BPP_DELIVERED)
        with repo.transaction() as session:
            assert repo.get_profile(session, ICCID).state == "Downloaded"
        assert slow.bodies == []  # the operator has not even been answered yet
        gate.set()
        assert [b["notificationPointId"] for b in slow.wait_for(1)] == [3]
    finally:
        gate.set()
        slow.close()


def test_an_unreachable_operator_is_given_up_on(repo, notifier):
    repo.on_progress = notifier.submit
    released(repo, "http://127.0.0.1:9/unreachable")  # discard port: nothing listens
    with repo.transaction() as session:
        repo.transition(session, repo.get_profile(session, ICCID, lock=True), Event.BPP_DELIVERED)
    notifier.close()  # delivers (or gives up on) what is queued
    with repo.transaction() as session:
        assert repo.get_profile(session, ICCID).state == "Downloaded"
