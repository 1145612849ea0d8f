"""The manual DUT's verdicts rest on the tester's answers as much as on the server's view: a phone
that silently keeps trying after a refusal fails the case even though the SM-DP+ saw a clean refusal.
The "phone" here is the project's LPA run by the test between reading the page's state and answering,
over the page's own HTTP API (the browser flow itself: test_lab_serve.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from openrsp.lab.cases import select
from openrsp.lab.manual import ManualDut
from openrsp.lab.model import ADDED, ERROR_SHOWN, KEPT_TRYING, Action, Step, Verdict
from openrsp.lab.runner import run_case
from openrsp.lab.setup import Lab, make_dut

pytestmark = pytest.mark.xdist_group("lab-manual")


@pytest.fixture
def manual(lab: Lab) -> Iterator[tuple[ManualDut, str]]:
    dut = ManualDut(lab, port=0)
    url = dut.start()
    try:
        yield dut, url
    finally:
        dut.stop()


def _campaign_of_one(lab: Lab, dut: ManualDut, case_id: str) -> tuple[threading.Thread, list]:
    results: list = []
    [case] = select(case_id)
    worker = threading.Thread(target=lambda: results.append(run_case(case, dut, lab.server, lab.card)))
    worker.start()
    return worker, results


def _wait_for_step(http: httpx.Client) -> dict:
    for _ in range(400):
        state = http.get("/api/state").json()
        if state["case"]:
            return state
        threading.Event().wait(0.05)
    raise AssertionError("the page never showed a case")


@pytest.mark.parametrize(("answer", "verdict"), [(ERROR_SHOWN, Verdict.PASS), (KEPT_TRYING, Verdict.FAIL)])
def test_the_testers_answer_decides_with_the_server(lab: Lab, manual, answer: str, verdict: Verdict) -> None:
    dut, url = manual
    worker, results = _campaign_of_one(lab, dut, "refusal.not-released")
    with httpx.Client(base_url=url, timeout=10) as http:
        state = _wait_for_step(http)
        assert state["waiting_for_device"] and state["choices"][0] == "The eSIM was added"
        # the "phone" does what the page says
        phone = make_dut("openrsp", lab)
        phone.perform(Step(Action.DOWNLOAD, state["activation_code"]))
        after = http.get("/api/state").json()
        assert any("Failed 8.2/1.2" in line for line in after["trace"])
        assert http.post("/api/answer", json={"choice": "not an offered answer"}).status_code == 400
        assert http.post("/api/answer", content=b"x" * 10_000).status_code == 413
        assert http.post("/api/answer", json={"choice": answer}).status_code == 200
    worker.join(30)
    [result] = results
    assert result.verdict is verdict, result.happened
    assert result.answer == answer


def test_a_skipped_case_is_inconclusive(lab: Lab, manual) -> None:
    dut, url = manual
    worker, results = _campaign_of_one(lab, dut, "download.nominal")
    with httpx.Client(base_url=url, timeout=10) as http:
        _wait_for_step(http)
        assert http.post("/api/answer", json={"choice": "skip"}).status_code == 200
    worker.join(30)
    assert results[0].verdict is Verdict.INCONCLUSIVE and results[0].reason == "skipped by the tester"


def test_discovery_asks_the_tester_to_check_for_esims(lab: Lab, manual) -> None:
    dut, url = manual
    worker, results = _campaign_of_one(lab, dut, "discovery.smds")
    with httpx.Client(base_url=url, timeout=10) as http:
        state = _wait_for_step(http)
        assert "check for eSIMs" in state["instruction"] and state["activation_code"] is None
        assert http.get("/qr.svg").status_code == 404  # nothing to scan: the device finds the eSIM
        assert make_dut("openrsp", lab).perform(Step(Action.DISCOVER)).ok  # the "phone" checks
        trace = http.get("/api/state").json()["trace"]
        assert any("initiateAuthentication(smdsAddress=" in line for line in trace)
        assert http.post("/api/answer", json={"choice": ADDED}).status_code == 200
    worker.join(30)
    [result] = results
    assert result.verdict is Verdict.PASS, result.happened
