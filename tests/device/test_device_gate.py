"""One operation on the eUICC at a time: short ones queue briefly, none queues behind a download."""

from __future__ import annotations

import threading

import pytest

from openrsp.device.gate import CardBusy, CardGate


def test_a_short_operation_is_refused_at_once_while_a_download_holds_the_card() -> None:
    gate = CardGate()
    with gate.hold("a profile download", long=True):
        with pytest.raises(CardBusy, match="busy with a profile download"), gate.hold("renaming", wait=60):
            pass
        assert gate.holder == "a profile download" and gate.held_long
    assert gate.holder is None


def test_short_operations_wait_for_each_other() -> None:
    gate = CardGate()
    order: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def first() -> None:
        with gate.hold("listing"):
            first_in.set()
            release.wait(10)
            order.append("listing done")

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    threading.Timer(0.1, release.set).start()
    with gate.hold("enabling", wait=10):
        order.append("enabling")
    thread.join()
    assert order == ["listing done", "enabling"]


def test_waiting_has_an_end() -> None:
    gate = CardGate()
    with gate.hold("listing"), pytest.raises(CardBusy), gate.hold("enabling", wait=0.05):
        pass


def test_a_new_download_waits_for_the_previous_one_to_let_go() -> None:
    gate = CardGate()
    started = threading.Event()

    def previous() -> None:
        with gate.hold("a profile download", long=True):
            started.set()
            threading.Event().wait(0.1)

    thread = threading.Thread(target=previous)
    thread.start()
    started.wait(10)
    with gate.hold("a profile download", long=True, wait=10):
        assert gate.held_long
    thread.join()
