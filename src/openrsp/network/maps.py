"""MAPS: the policy point a provisioning-profile bearer's traffic must pass, as an HTTP CONNECT proxy.

`MapsPolicy` is the decision, pure: a CONNECT to one of the allowed host:port pairs (the SM-DP+) is
let through; anything else — another host, another port, a plain-HTTP request — is refused with a
reason. `MapsProxy` is the I/O around it: an asyncio server on 127.0.0.1 (port 0 picks a free port)
that answers refusals with 403 and the reason, tunnels allowed connections byte for byte (TLS stays
end to end between the LPA and the SM-DP+), and records every decision in the network's event log.
It runs in its own thread so synchronous callers (the LPA's HTTPS client) can use it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from openrsp.errors import InputError
from openrsp.network.errors import NetworkError
from openrsp.network.events import EventLog

MAX_HEADER_BYTES = 16 * 1024
HEADER_TIMEOUT = 10.0
CONNECT_TIMEOUT = 10.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class MapsDecision:
    allowed: bool
    target: str  # host:port as asked ("-" when it could not be read)
    reason: str


def split_authority(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (lower-case host, port); InputError when there is no valid port."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise InputError(f"not host:port: {text!r}")
    return host.strip("[]").lower(), int(port)


class MapsPolicy:
    """Allowed destinations for provisioning bearers: exactly these host:port pairs."""

    def __init__(self, allowed: Iterable[tuple[str, int]]) -> None:
        self.allowed = frozenset((host.lower(), port) for host, port in allowed)

    def decide(self, method: str, target: str) -> MapsDecision:
        if method.upper() != "CONNECT":
            return MapsDecision(False, target, f"{method} refused: only CONNECT to the SM-DP+ is allowed")
        try:
            host, port = split_authority(target)
        except InputError:
            return MapsDecision(False, target, "malformed CONNECT target")
        if (host, port) in self.allowed:
            return MapsDecision(True, target, "SM-DP+ (allowed for provisioning profiles)")
        if any(host == allowed_host for allowed_host, _ in self.allowed):
            return MapsDecision(False, target, f"port {port} of the SM-DP+ host is not the ES9+ port")
        return MapsDecision(False, target, "not the SM-DP+: a provisioning profile may reach only the SM-DP+")


def _response(status: str, reason: str) -> bytes:
    body = (reason + "\n").encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nX-MAPS-Reason: {reason}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class MapsProxy:
    """The policy point as a running proxy. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        policy: MapsPolicy,
        *,
        resolve: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        events: EventLog | None = None,
    ) -> None:
        """`resolve` maps host names to IP addresses (like the LPA's --resolve), so test names of
        the SM-DP+ reach loopback; names not in it go to the system resolver."""
        self.policy = policy
        self.resolve = {k.lower(): v for k, v in (resolve or {}).items()}
        self.events = events if events is not None else EventLog()
        self._bind = (host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        if self.address is None:
            raise NetworkError("the MAPS is not running")
        return f"http://{self.address[0]}:{self.address[1]}"

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> str:
        if self._thread is not None:
            return self.url
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="maps", daemon=True)
        self._thread.start()
        try:
            server = asyncio.run_coroutine_threadsafe(
                asyncio.start_server(self._handle, *self._bind), loop
            ).result(timeout=10)
        except OSError as exc:
            self.stop()
            raise NetworkError(f"MAPS cannot listen on {self._bind[0]}:{self._bind[1]}: {exc}") from None
        self._server = server
        host, port = server.sockets[0].getsockname()[:2]
        self.address = (host, port)
        self.events.record(
            "maps",
            "listening",
            url=self.url,
            allowed=",".join(f"{h}:{p}" for h, p in sorted(self.policy.allowed)),
        )
        return self.url

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._server = None
        self.address = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> MapsProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- one client connection ---------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if peer else "-"
        try:
            await self._serve(reader, writer, client)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEADER_TIMEOUT)
        except asyncio.LimitOverrunError:
            head = b""
        if len(head) > MAX_HEADER_BYTES or not head:
            self._refuse(
                writer,
                client,
                MapsDecision(False, "-", "request header too large or unreadable"),
                "400 Bad Request",
            )
            return
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) != 3:
            self._refuse(
                writer, client, MapsDecision(False, "-", "malformed request line"), "400 Bad Request"
            )
            return
        method, target, _version = parts
        decision = self.policy.decide(method, target)
        if not decision.allowed:
            self._refuse(writer, client, decision)
            return
        host, port = split_authority(target)
        address = self.resolve.get(host, host)
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, port), CONNECT_TIMEOUT
            )
        except (TimeoutError, OSError) as exc:
            self._refuse(
                writer, client, MapsDecision(False, target, f"SM-DP+ unreachable: {exc}"), "502 Bad Gateway"
            )
            return
        self.events.record("maps", "connect-allowed", client=client, target=target, reason=decision.reason)
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        try:
            upstream, downstream = await asyncio.gather(
                _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            up_writer.close()
        self.events.record(
            "maps",
            "tunnel-closed",
            target=target,
            bytes_up=upstream if isinstance(upstream, int) else 0,
            bytes_down=downstream if isinstance(downstream, int) else 0,
        )

    def _refuse(
        self, writer: asyncio.StreamWriter, client: str, decision: MapsDecision, status: str = "403 Forbidden"
    ) -> None:
        self.events.record(
            "maps",
            "connect-refused",
            client=client,
            target=decision.target,
            status=status.split()[0],
            reason=decision.reason,
        )
        writer.write(_response(status, decision.reason))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Copy until EOF, then half-close; returns the byte count."""
    total = 0
    try:
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
            total += len(chunk)
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
    return total
