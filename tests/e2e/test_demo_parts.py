"""The demo's own machinery: a failed check fails its step and ends the run; the card-link model."""

from __future__ import annotations

import pytest

from openrsp.demo.cardlink import CardLinkModel, MeteredTransport
from openrsp.demo.trace import StepFailed, Trace, check
from openrsp.errors import InputError


def test_a_failed_check_fails_the_step_and_the_run() -> None:
    trace = Trace()
    with trace.step("first", "First") as step:
        step.detail = "fine"
    with pytest.raises(StepFailed), trace.step("second", "Second"):
        check(False, "the order is not Installed")
    assert [s.ok for s in trace.steps] == [True, False]
    assert trace.steps[1].detail == "CheckFailed: the order is not Installed"
    assert trace.failed is trace.steps[1] and not trace.ok


def test_an_unexpected_error_is_a_failed_step_too() -> None:
    trace = Trace()
    with pytest.raises(StepFailed), trace.step("boom", "Boom"):
        {}["missing"]  # noqa: B018
    assert not trace.ok and "KeyError" in trace.steps[0].detail


def test_card_link_model_arithmetic() -> None:
    model = CardLinkModel(bps=9600, apdu_overhead_ms=10)
    assert model.bytes_per_second == 800  # 12 etu per character over T=0
    assert model.seconds(apdus=10, link_bytes=1600) == pytest.approx(0.1 + 2.0)
    with pytest.raises(InputError):
        CardLinkModel(bps=0)


class _Echo:
    def transmit(self, apdu: bytes) -> bytes:
        return b"\x90\x00"

    def reset(self) -> None: ...

    def close(self) -> None: ...


def test_metered_transport_counts_both_directions() -> None:
    link = MeteredTransport(_Echo())
    before = link.snapshot()
    link.transmit(bytes(10))
    link.transmit(bytes(5))
    spent = link.snapshot().minus(before)
    assert (spent.apdus, spent.command_bytes, spent.response_bytes, spent.total_bytes) == (2, 15, 4, 19)
