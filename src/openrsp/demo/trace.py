"""The demo's trace: named steps with timings; a step is ok only if it checked its own outcome.

A step that raises (a failed check, an openrsp error, anything) is recorded as failed with the
message, and the run stops there: later steps are not reported as done when they never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from openrsp.errors import OpenRSPError


class CheckFailed(OpenRSPError):
    """A demo step did not produce the outcome it exists to show."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@dataclass
class StepRecord:
    name: str
    title: str
    ok: bool = False
    ms: float = 0.0
    detail: str = ""
    lines: list[str] = field(default_factory=list)  # what happened, one line each
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "ok": self.ok,
            "ms": round(self.ms, 1),
            "detail": self.detail,
            "lines": self.lines,
            **({"data": self.data} if self.data else {}),
        }


class Trace:
    """Runs steps; `on_start`, `on_line`, `on_end` let a renderer show them live."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        on_start: Callable[[StepRecord], None] | None = None,
        on_line: Callable[[StepRecord, str], None] | None = None,
        on_end: Callable[[StepRecord], None] | None = None,
    ) -> None:
        self.clock = clock
        self.steps: list[StepRecord] = []
        self._on_start, self._on_line, self._on_end = on_start, on_line, on_end
        self.failed: StepRecord | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and self.failed is None and all(s.ok for s in self.steps)

    @contextmanager
    def step(self, name: str, title: str) -> Iterator[StepRecord]:
        record = StepRecord(name, title)
        self.steps.append(record)
        if self._on_start:
            self._on_start(record)
        started = self.clock()
        try:
            yield record
        except Exception as exc:  # noqa: BLE001 - the demo reports any failure as the step's outcome
            record.ms = (self.clock() - started) * 1000
            record.detail = f"{type(exc).__name__}: {exc}"
            self.failed = record
            if self._on_end:
                self._on_end(record)
            raise StepFailed(record) from exc
        record.ms = (self.clock() - started) * 1000
        record.ok = True
        if self._on_end:
            self._on_end(record)

    def line(self, record: StepRecord, text: str) -> None:
        record.lines.append(text)
        if self._on_line:
            self._on_line(record, text)


class StepFailed(Exception):
    """Raised out of `Trace.step` to stop the run; the record holds the reason."""

    def __init__(self, record: StepRecord) -> None:
        self.record = record
        super().__init__(f"step {record.name} failed: {record.detail}")
