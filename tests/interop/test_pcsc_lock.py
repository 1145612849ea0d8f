"""The PC/SC tests' machine-wide lock: other processes wait for it, this process never waits for itself."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from pcsc_fixture import MachineWideLock

PROBE = """
import fcntl, sys
with open(sys.argv[1], "a") as handle:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("held")
    else:
        print("free")
"""


def seen_by_another_process(path: Path) -> str:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True
    )
    return probe.stdout.strip()


def test_nested_holds_in_one_process_and_the_file_lock_until_the_last(tmp_path: Path) -> None:
    lock = MachineWideLock(tmp_path / "pcsc.lock", timeout=5)
    with lock.held():
        with lock.held():  # e.g. a module fixture inside the session fixture: no self-deadlock
            assert seen_by_another_process(lock.path) == "held"
        assert seen_by_another_process(lock.path) == "held"
    assert seen_by_another_process(lock.path) == "free"


def test_another_thread_waits_for_the_holder(tmp_path: Path) -> None:
    lock = MachineWideLock(tmp_path / "pcsc.lock", timeout=5)
    order: list[str] = []

    def waiter() -> None:
        with lock.held():
            order.append("other")

    with lock.held():
        other = threading.Thread(target=waiter)
        other.start()
        other.join(0.3)
        order.append("first done")
    other.join(5)
    assert order == ["first done", "other"]
