"""A small HTTPS peer for the ES9+ client tests: the test PKI's SM-DP+ TLS certificate, scripted answers."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Answer = tuple[int, dict[str, Any] | bytes | None]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    sni: str | None


@dataclass
class HttpsPeer:
    port: int
    answer: Callable[[str, dict[str, Any]], Answer]
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def https_peer(pki_dir: Path, answer: Callable[[str, dict[str, Any]], Answer]) -> Iterator[HttpsPeer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki_dir / "tls" / "dptls.chain.pem", pki_dir / "tls" / "dptls.key.pem")
    names: dict[int, str | None] = {}

    def remember_sni(sock: ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
        names[id(sock)] = name

    context.sni_callback = remember_sni  # type: ignore[assignment]
    peer = HttpsPeer(0, answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw) if raw else {}
            sni = names.get(id(self.connection))
            peer.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body, sni))
            status, content = peer.answer(self.path.rsplit("/", 1)[-1], body)
            data = json.dumps(content).encode() if isinstance(content, dict) else (content or b"")
            self.send_response(status)
            if isinstance(content, dict):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
