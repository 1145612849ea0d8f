"""One event list for the whole network (MME, gateway, MAPS), in order, safe across threads.

The demo prints it; tests assert on it. Events carry names and identifiers only, never keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NetworkEvent:
    at: float  # seconds since the log started
    source: str  # "mme", "gateway", "maps", "hss"
    kind: str  # e.g. "attach-accept", "connect-refused"
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"at": round(self.at, 4), "source": self.source, "kind": self.kind, **self.fields}

    def __str__(self) -> str:
        details = " ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"[{self.source}] {self.kind}" + (f" {details}" if details else "")


class EventLog:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        listener: Callable[[NetworkEvent], None] | None = None,
    ) -> None:
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._events: list[NetworkEvent] = []
        self.listener = listener

    def record(self, source: str, kind: str, **fields: Any) -> NetworkEvent:
        event = NetworkEvent(self._clock() - self._start, source, kind, fields)
        with self._lock:
            self._events.append(event)
        if self.listener is not None:
            self.listener(event)
        return event

    @property
    def events(self) -> list[NetworkEvent]:
        with self._lock:
            return list(self._events)

    def of(self, source: str | None = None, kind: str | None = None) -> list[NetworkEvent]:
        return [
            e
            for e in self.events
            if (source is None or e.source == source) and (kind is None or e.kind == kind)
        ]

    def since(self, index: int) -> list[NetworkEvent]:
        with self._lock:
            return list(self._events[index:])

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)
