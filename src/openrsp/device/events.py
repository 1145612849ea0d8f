"""Server-sent events: every open page hears of each change (screen, download progress) at once.

Changes are published from worker threads (the download runs in one); each page's event stream
lives on the server's event loop, so publishing hands the event over with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

HEARTBEAT = 15.0  # seconds between keep-alive comments on an idle stream
_QUEUE_LIMIT = 256  # a page that stops reading loses its oldest events, never the server's memory


@dataclass(frozen=True)
class Event:
    kind: str  # "screen" or "download"
    data: dict[str, Any]

    def encode(self) -> str:
        return f"event: {self.kind}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n"


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event | None]]] = set()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        event = Event(kind, data)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # that page's loop is closed: it is gone
                loop.call_soon_threadsafe(_offer, queue, event)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        with self._lock:
            subscribers, self._subscribers = list(self._subscribers), set()
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_offer, queue, None)

    async def stream(self, heartbeat: float = HEARTBEAT) -> AsyncIterator[str]:
        """The text/event-stream of one page: every event published while it is open."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(_QUEUE_LIMIT)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield "retry: 1000\n\n"  # reconnect after a second when the stream breaks
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), heartbeat)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                yield event.encode()
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def _offer(queue: asyncio.Queue[Event | None], event: Event | None) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(event)
