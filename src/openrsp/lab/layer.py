"""The lab's layer around the real SM-DP+ ASGI application: it records every ES9+ request and
answer of the current case and applies the case's fault to the answers on their way out.

The SM-DP+ itself is untouched: the layer sees the request bytes before it and the answer bytes
after it, like a reverse proxy in the same process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openrsp.lab.exchange import MAX_BODY, Recorder, response_status, summarize_request
from openrsp.lab.faults import NO_FAULT, Fault

ES9_PREFIX = "/gsma/rsp2/es9plus/"


class LabLayer:
    def __init__(self, app: ASGIApp, recorder: Recorder, fault: Callable[[], Fault], listener: str,
                 prefixes: tuple[str, ...] = (ES9_PREFIX,)) -> None:  # fmt: skip
        self.app = app
        self.recorder = recorder
        self.fault = fault
        self.listener = listener
        self.prefixes = prefixes  # the paths recorded (the function is what follows the prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = next((p for p in self.prefixes if scope.get("path", "").startswith(p)), None)
        if scope["type"] != "http" or prefix is None:
            await self.app(scope, receive, send)
            return
        function = scope["path"][len(prefix) :][:64]
        raw = await _read_body(receive)
        row = self.recorder.add(self.listener, function, summarize_request(function, raw))
        fault = self.fault() or NO_FAULT
        started = time.monotonic()
        pause = fault.delay(function)
        if pause:
            row.lab = f"answer held back {pause:g} s"
            await asyncio.sleep(pause)

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        body = b"".join(chunks)
        status = int(start.get("status", 500))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        row.status = response_status(status, body)

        what = _rewrite(fault, function, body)
        if what is not None:
            body, done = what
            row.lab = done
        headers.append((b"content-length", str(len(body)).encode()))
        row.seconds = round(time.monotonic() - started, 3)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if fault.cut(function) and len(body) > 1:
            row.status = f"cut after {len(body) // 2} of {len(body)} bytes"
            row.lab = "connection closed half-way through the answer"
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            return  # uvicorn closes a connection whose answer was left unfinished
        await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:  # the SM-DP+ refuses it by its own rule: hand it an oversize body
            return b" " * (MAX_BODY + 1)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _rewrite(fault: Fault, function: str, body: bytes) -> tuple[bytes, str] | None:
    if not body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    try:
        done = fault.rewrite(function, document)
    except Exception as exc:  # the answer goes out untouched, and the trace says the fault misfired
        return body, f"fault not applied: {type(exc).__name__}: {exc}"
    if done is None:
        return None
    return json.dumps(document, separators=(",", ":")).encode(), done
