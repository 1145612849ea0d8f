"""uvicorn's httptools protocol with the SM-DP+ limits (`openrsp.rspserver.limits`) on every connection.

uvicorn bounds the keep-alive idle time (`timeout_keep_alive`) and the graceful shutdown
(`timeout_graceful_shutdown`); those two are passed straight to it. What it leaves open, this
subclass adds, through the protocol's own callbacks only:

- a connection that does not finish a request head within `header_timeout_seconds` (after the
  TLS handshake, or after the first byte of a later request) gets 408 and is closed; a body that
  does not arrive within `body_timeout_seconds` closes the connection (slowloris);
- a request head larger than `max_header_bytes` gets 431 and the connection is closed, before
  the parser has buffered more than one read beyond the limit;
- a body larger than `max_body_bytes` is refused by the application while it reads (ES2+/ES9+
  answer 1.3.1/2.1 and close the connection); bytes that still come after the answer close it;
- beyond `max_connections` open connections, a new connection's request gets 503 and the
  connection is closed: the connections already open keep working. (uvicorn's
  `limit_concurrency` would refuse the requests of every connection, old ones too.)
- at shutdown, a connection with nothing in flight, or whose request has not fully arrived, is
  dropped at once: nothing is lost, and it cannot hold the shutdown until
  `shutdown_timeout_seconds`; requests being answered get that long.

Requests the application can answer whole (`direct_route`: a well-formed POST with its
Content-Length within `max_body_bytes`, no `Expect`, nothing pipelined before it) skip the ASGI
request cycle: the body is gathered by the protocol and the application's direct handler returns
the answer's status, headers and body, written in one go (`_DirectCycle`). The same limits, access
line, keep-alive and shutdown apply; every other request takes uvicorn's ASGI cycle.

A response's head and body leave in one write (`_CorkedWrites`): one TLS record and one send
instead of two (about 12 µs of server CPU per request). The access log line is uvicorn's, written
by `openrsp.rspserver.accesslog` for a third of the cost.

TCP connections that never complete the TLS handshake are closed by the event loop (uvloop, as
asyncio) after 60 s; they do not reach this protocol (and do not count towards `max_connections`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from openrsp.rspserver.accesslog import AccessLog
from openrsp.rspserver.errors import ConfigError
from openrsp.rspserver.limits import Limits
from openrsp.rspserver.tls import no_delay, tls_extension, with_tls_scope

try:  # httptools is a dependency; its callbacks are what the limits hook into
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
except ImportError:  # pragma: no cover - a broken installation
    HttpToolsProtocol = None

_log = logging.getLogger("openrsp.smdp.http")


class _RefusalLog:
    """One warning line per refused connection, but at most one per second under a flood."""

    def __init__(self) -> None:
        self.last = 0.0
        self.quiet = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.last < 1.0:
            self.quiet += 1
            return
        suffix = f" ({self.quiet} more not logged)" if self.quiet else ""
        self.last, self.quiet = now, 0
        _log.warning(message + suffix, *args)


_refusals = _RefusalLog()


def _refusal(status: int, text: str, *extra: tuple[bytes, bytes]) -> Any:
    """An ASGI app that answers every request with this status and closes the connection."""
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *extra,
        (b"connection", b"close"),
    ]

    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


class _CorkedWrites:
    """The writes of one response as one: uvicorn writes a response's head and its body apart,
    which over TLS makes two records, two encryptions and two sends. Writes are gathered until the
    end of the event loop's step (the app sends head and body without waiting in between) and go
    to the transport together; closing writes what is gathered first."""

    __slots__ = ("loop", "pending", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self.pending:
            self.loop.call_soon(self.flush)
        self.pending.append(data)

    def flush(self) -> None:
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            if not self.transport.is_closing():
                self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, …: the transport's own
        return getattr(self.transport, name)


class _NoEvent:
    """uvicorn's protocol sets its cycle's event when body bytes arrive; a direct request has no
    receiver waiting for it."""

    __slots__ = ()

    def set(self) -> None:
        pass


_NO_EVENT = _NoEvent()

# A direct handler: (path, request headers, body, scope) -> (status, response headers, body), or
# None when the request was abandoned (the connection is then closed).
DirectAnswer = tuple[int, list[tuple[bytes, bytes]], bytes]
DirectHandler = Callable[
    [str, list[tuple[bytes, bytes]], bytes, dict[str, Any]], Awaitable[DirectAnswer | None]
]
_INTERNAL_ERROR: DirectAnswer = (
    500,
    [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"21"),
        (b"connection", b"close"),
    ],
    b"Internal Server Error",
)


class _DirectCycle:
    """What uvicorn's protocol reads and writes of a request's cycle (its body, whether it is
    complete, answered, still wanted), for a request answered by a direct handler."""

    __slots__ = (
        "body",
        "disconnected",
        "handler",
        "keep_alive",
        "message_event",
        "more_body",
        "response_complete",
        "response_started",
        "scope",
    )

    def __init__(self, handler: DirectHandler, scope: dict[str, Any], keep_alive: bool) -> None:
        self.handler = handler
        self.scope = scope
        self.keep_alive = keep_alive
        self.body = bytearray()
        self.more_body = True
        self.response_started = False
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NO_EVENT


_busy = _refusal(503, "the SM-DP+ is at its connection limit; try again shortly", (b"retry-after", b"5"))
_head_too_large = _refusal(431, "request header fields too large")


if HttpToolsProtocol is not None:

    class LimitedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc, valid-type]
        """uvicorn's httptools protocol: client certificate in the scope, and the limits."""

        def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.limits = limits
            self.head_bytes = 0  # bytes received while a request head is incomplete
            self.reading_head = True  # between requests, or inside a request head
            self.partial = False  # bytes of a request not yet complete have arrived
            self.deadline: asyncio.TimerHandle | None = None
            self.head_size = 0  # request line + headers of the request being parsed, exactly
            self.body_bytes = 0
            self.corked: _CorkedWrites | None = None
            # uvicorn's requests log nothing themselves: AccessLog writes their line (if uvicorn would).
            self.access_lines: AccessLog | None = None
            self.log_access, self.access_log = self.access_log, False
            # The application's direct handlers, if it has any (not when uvicorn wrapped it, e.g.
            # to log every ASGI message at trace level: then every request takes the ASGI cycle).
            self.direct_route = getattr(self.app, "direct_route", None)
            self.request_extensions: dict[str, Any] = {}

        # -- connection -----------------------------------------------------------------------------

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.corked = _CorkedWrites(transport, self.loop)
            if self.log_access:
                self.access_lines = AccessLog(self.access_logger, self.client)
            no_delay(transport)
            tls = tls_extension(transport)
            if tls is not None:
                self.request_extensions = {"tls": tls}
                self.app = with_tls_scope(self.app, tls)
            if len(self.connections) > self.limits.max_connections:
                _refusals.warning(
                    "503: %d connections open (max_connections); refusing %s",
                    len(self.connections) - 1,
                    _peer(self.client),
                )
                self.app = _busy
                self.direct_route = None
            self._arm(self.limits.header_timeout_seconds, self._head_too_slow)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return
            if self.reading_head:
                self.head_bytes += len(data)
                self.partial = True  # bytes of a request (or of what should become one)
            super().data_received(data)
            if self.reading_head and self.head_bytes > self.limits.max_header_bytes:
                # Still incomplete and already too large: stop before the parser buffers more.
                self._log_head_too_large()
                self._answer_and_close(431, "request header fields too large")
            elif self.deadline is None and not self.transport.is_closing():
                # Timers only for what is still incomplete once these bytes are parsed: a request
                # that came whole (the usual case) costs no timer at all.
                if not self.reading_head:  # a head without all of its body
                    self._arm(self.limits.body_timeout_seconds, self._body_too_slow)
                elif self.partial:  # part of a head, on a kept-alive connection
                    self._arm(self.limits.header_timeout_seconds, self._head_too_slow)

        def shutdown(self) -> None:
            if self.corked is not None:
                self.corked.flush()  # an answer written in this step is on its way, not lost
            cycle = self.cycle
            partial = cycle is not None and cycle.more_body and not cycle.response_started
            idle = (cycle is None or cycle.response_complete) and not self.transport.get_write_buffer_size()
            if partial or idle:
                # Nothing in flight (or a request the client is still sending): dropping the
                # connection loses nothing, waiting could hold the shutdown for as long as the client
                # likes. abort(), not close(): a TLS close waits for the peer's close_notify first.
                self.transport.abort()
                return
            super().shutdown()

        # -- httptools callbacks ------------------------------------------------------------------------

        def on_message_begin(self) -> None:
            self.head_size = 0
            self.partial = True
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self.head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self.head_size += len(name) + len(value) + 4  # ": " and CRLF
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self.reading_head = False
            self.head_bytes = 0
            self.body_bytes = 0
            self._disarm()  # the head is in; data_received arms the body's timer if the body is not
            if self.head_size > self.limits.max_header_bytes:
                # Complete, but too large (it came in one read): answered 431 as a request.
                self._log_head_too_large()
                self.app = _head_too_large
                self.direct_route = None
            elif self.direct_route is not None:
                handler = self._direct_handler()
                if handler is not None:
                    self.cycle = _DirectCycle(handler, self.scope, self.parser.should_keep_alive())
                    return
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None:
                if self.corked is not None:
                    cycle.transport = self.corked  # type: ignore[assignment]
                if self.access_lines is not None:
                    # The request's ASGI task has not run yet: it will call this send.
                    cycle.send = self.access_lines.logged(cycle.send, cycle.scope)  # type: ignore[method-assign]

        def on_body(self, body: bytes) -> None:
            self.body_bytes += len(body)
            cycle = self.cycle
            if type(cycle) is _DirectCycle:  # its Content-Length (within max_body_bytes) bounds it
                cycle.body += body
                return
            if self.body_bytes > self.limits.max_body_bytes and self.cycle.response_complete:
                # Answered already (the application refused the body): do not read the rest.
                self.transport.close()
                return
            super().on_body(body)

        def on_message_complete(self) -> None:
            self.reading_head = True
            self.partial = False
            self._disarm()
            super().on_message_complete()
            cycle = self.cycle
            if type(cycle) is _DirectCycle and not cycle.response_started:
                task = self.loop.create_task(self._answer_directly(cycle))
                task.add_done_callback(self.tasks.discard)
                self.tasks.add(task)

        # -- direct requests ------------------------------------------------------------------------

        def _direct_handler(self) -> DirectHandler | None:
            """The application's direct handler for the request whose head just arrived, if it has
            one and the request is one it can take whole: a POST with one Content-Length within
            max_body_bytes, no Transfer-Encoding or Expect, HTTP/1.1, nothing pipelined before it."""
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                return None  # uvicorn queues it behind the request in flight
            parser = self.parser
            if self.expect_100_continue or parser.get_method() != b"POST" or parser.should_upgrade():
                return None
            if parser.get_http_version() != "1.1":
                return None
            length = None
            for name, value in self.headers:
                if name == b"content-length":
                    if length is not None:
                        return None
                    length = value
                elif name == b"transfer-encoding":
                    return None
            if (
                length is None
                or not length.isdigit()
                or len(length) > 18  # before int(): leading zeros can make it thousands of digits long
                or int(length) > self.limits.max_body_bytes
            ):
                return None
            url = self.url
            if b"?" in url or b"%" in url or not url.isascii():
                return None
            path = url.decode("ascii")
            handler = self.direct_route(path)
            if handler is not None:
                scope = self.scope
                scope["method"] = "POST"
                scope["path"] = path
                scope["raw_path"] = url
                scope["query_string"] = b""
                scope["extensions"] = self.request_extensions
            return handler

        async def _answer_directly(self, cycle: _DirectCycle) -> None:
            try:
                answer = await cycle.handler(
                    cycle.scope["path"], cycle.scope["headers"], bytes(cycle.body), cycle.scope
                )
            except Exception:  # a bug: answered as uvicorn answers an ASGI app's exception
                _log.exception("%s: unexpected error answering directly", cycle.scope["path"])
                answer = _INTERNAL_ERROR
            if answer is None or cycle.disconnected or self.transport.is_closing():
                cycle.response_complete = True
                if not self.transport.is_closing():
                    self.transport.close()
                return
            status, headers, body = answer
            closing = (b"connection", b"close") in headers  # the application's own
            keep_alive = cycle.keep_alive and not closing
            content = [STATUS_LINE[status]]
            for name, value in (*self.server_state.default_headers, *headers):
                content += (name, b": ", value, b"\r\n")
            if not keep_alive and not closing:
                content.append(b"connection: close\r\n")
            content += (b"\r\n", body)
            cycle.response_started = True
            if self.access_lines is not None:
                self.access_lines.answered(cycle.scope, status)
            self.transport.write(b"".join(content))
            cycle.response_complete = True
            if keep_alive:
                self.on_response_complete()
            else:
                self.transport.close()

        # -- timers ---------------------------------------------------------------------------------

        def _arm(self, seconds: float, callback: Any) -> None:
            self._disarm()
            self.deadline = self.loop.call_later(seconds, callback)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _log_head_too_large(self) -> None:
            _log.warning(
                "431: request head from %s over %d bytes (max_header_bytes)",
                _peer(self.client),
                self.limits.max_header_bytes,
            )

        def _head_too_slow(self) -> None:
            self.deadline = None
            if self.transport.is_closing():
                return
            _log.info(
                "408: no complete request head from %s within %s s (header_timeout_seconds)",
                _peer(self.client),
                self.limits.header_timeout_seconds,
            )
            self._answer_and_close(408, "request head not received in time")

        def _body_too_slow(self) -> None:
            self.deadline = None
            if self.transport.is_closing():
                return
            _log.warning(
                "request body from %s not received within %s s (body_timeout_seconds): connection closed",
                _peer(self.client),
                self.limits.body_timeout_seconds,
            )
            self.transport.abort()  # at once: the request task waiting for the body ends now

        def _answer_and_close(self, status: int, message: str) -> None:
            """A plain-text answer, when no other answer is on its way, then close."""
            self._disarm()
            if self.cycle is None or self.cycle.response_complete:
                body = message.encode()
                head = (
                    b"content-type: text/plain; charset=utf-8\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
                )
                self.transport.write(STATUS_LINE[status] + head + body)
            self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"


def limited_protocol(limits: Limits) -> partial:
    """The protocol factory for uvicorn's `http=`: picklable, so worker processes get it too."""
    if HttpToolsProtocol is None:
        raise ConfigError("httptools is not installed: the SM-DP+ needs it (pip install httptools)")
    return partial(LimitedHttpToolsProtocol, limits=limits)
