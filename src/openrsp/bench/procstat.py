"""CPU time of a process and its descendants, from /proc (Linux): the server's own cost.

Wall-clock throughput depends on what else the machine does; the CPU seconds the server
processes themselves spent do not, so they are what the benchmark divides by the downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found = [pid]
    for current in found:
        found.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process (all its threads)."""
    times = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:  # utime and stime are fields 14 and 15 of stat; 12 and 13 here
            times[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return times


class CpuMeter:
    """CPU seconds a process (and, with `tree`, every process below it) spends between `start()`
    and `stop()`."""

    def __init__(self, pid: int, *, tree: bool = True) -> None:
        self.pid = pid
        self.tree = tree
        self._before: dict[int, float] = {}

    def _pids(self) -> list[int]:
        return descendants(self.pid) if self.tree else [self.pid]

    def start(self) -> None:
        self._before = cpu_seconds(self._pids())

    def stop(self) -> float:
        return sum(self.stop_by_process().values())

    def stop_by_process(self) -> dict[str, float]:
        """CPU seconds since `start()`, by process name (`haproxy`, `openrsp` …, workers added up)."""
        after = cpu_seconds(self._pids())
        spent: dict[str, float] = {}
        for pid, seconds in after.items():
            name = process_name(pid)
            spent[name] = spent.get(name, 0.0) + seconds - self._before.get(pid, 0.0)
        return spent


def process_name(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip() or "?"
    except OSError:
        return "?"
