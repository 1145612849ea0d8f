"""`openrsp demo --ui`: after the run, the demo device's screen is served with the SM-DP+ and the
network still up; Ctrl-C stops everything, the SM-DP+ process included."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

OPENRSP = Path(sys.executable).parent / "openrsp"
URL = re.compile(r"Device screen: (http://127\.0\.0\.1:\d+/)")
OP_ICCID = "8900101012345678904"  # the demo's operational profile


def lines_of(stream) -> queue.Queue[str | None]:  # noqa: ANN001 - a text pipe
    """The stream's lines as they come (None at its end), read in a thread so waits can time out."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for_url(lines: queue.Queue[str | None], seen: list[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if found := URL.search(line):
            return found.group(1)
    raise AssertionError("no device screen URL in the output:\n" + "".join(seen))


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_ui_serves_the_device_screen_until_ctrl_c() -> None:
    demo = subprocess.Popen(
        [str(OPENRSP), "demo", "--ui", "--ui-port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    children: set[int] = set()
    try:
        seen: list[str] = []
        url = wait_for_url(lines_of(demo.stdout), seen)
        out = "".join(seen)
        # The run and its summary come first, as without --ui.
        assert "order Installed" in out and out.index("Summary") < out.index("Device screen")
        children = descendants(demo.pid)
        assert children, "the SM-DP+ should still be running as the demo's child"

        with httpx.Client(timeout=30) as http:
            page = http.get(url)
            assert page.status_code == 200 and "<html" in page.text.lower()
            screen = http.get(url + "api/screen").json()
        profiles = {p["iccid"]: p for p in screen["profiles"]}
        assert profiles[OP_ICCID]["state"] == "enabled"
        assert profiles[OP_ICCID]["profileClass"] == "operational"
        assert [p["state"] for p in profiles.values() if p["profileClass"] == "provisioning"] == ["disabled"]
        assert screen["network"]["state"] == "op-attached"  # the demo's network is still up

        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0
        assert demo.stderr is not None and "Traceback" not in demo.stderr.read()
        assert not [pid for pid in children if alive(pid)], "the demo left child processes behind"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        for pid in [p for p in children if alive(p)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_demo_ui_says_at_once_when_its_port_is_taken(cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("demo", "--ui", "--ui-port", str(port), timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert "Figure 7" not in done.stdout  # refused before the run started
