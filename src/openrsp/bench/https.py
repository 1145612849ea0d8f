"""A small asyncio HTTPS/1.1 client with keep-alive, for the load generator.

httpx would do, but at hundreds of requests per second on two cores the client's own overhead
competes with the server it measures. This client does only what ES9+ needs: POST a JSON body,
read a Content-Length (or 204) answer, keep the connection open for the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass
from typing import Any

from openrsp.errors import OpenRSPError

ES9_HEADERS = "X-Admin-Protocol: gsma/rsp/v2.2.0\r\nUser-Agent: gsma-rsp-lpad\r\n"
MAX_HEADER = 64 * 1024


class HttpError(OpenRSPError):
    """The server answered something that is not an HTTP/1.1 response we can read."""


@dataclass(frozen=True)
class Endpoint:
    host: str  # where to connect (127.0.0.1)
    port: int
    server_name: str  # TLS SNI and the name the certificate must carry
    ssl_context: ssl.SSLContext


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}


class Connection:
    """One TLS connection, reused for every request until closed."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        end = self.endpoint
        self._reader, self._writer = await asyncio.open_connection(
            end.host, end.port, ssl=end.ssl_context, server_hostname=end.server_name
        )

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            # the peer may drop TLS without a close_notify; nothing is lost
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> Response:
        if self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.endpoint.server_name}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode("ascii") + body)
        try:
            raw = await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise HttpError("the server closed the connection") from None
        except asyncio.LimitOverrunError:
            raise HttpError("response header too long") from None
        status, length, close = _parse_head(raw)
        data = await self._reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return Response(status, data)

    async def post_json(self, path: str, payload: dict[str, Any]) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return await self.request("POST", path, body, "Content-Type: application/json\r\n" + ES9_HEADERS)


def _parse_head(raw: bytes) -> tuple[int, int, bool]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"not an HTTP/1.1 status line: {lines[0]!r}")
    status = int(parts[1])
    length = 0
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and value.strip().lower() != "identity":
            raise HttpError("chunked responses are not expected from the SM-DP+")
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    return status, length, close


def client_context(ca_file: str, *, client_cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    """Trust the SM-DP+ TLS chain's CI; present a client certificate when given."""
    context = ssl.create_default_context(cafile=ca_file)
    if client_cert is not None:
        context.load_cert_chain(*client_cert)
    return context
