"""Serving the device screen with uvicorn: in the foreground (the CLI) or in a thread (demo, tests).

The listening socket is bound before uvicorn starts so that port 0 works: the caller learns the
real URL at once. Server-sent event streams never end by themselves, so shutting down first ends
them (EventHub.close) and only then waits for connections to drain.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from openrsp.device.app import create_app
from openrsp.device.phone import Phone
from openrsp.errors import InputError

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _DeviceServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, phone: Phone) -> None:
        super().__init__(config)
        self.phone = phone

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.phone.events.close()
        await super().shutdown(sockets)


def _server(phone: Phone, host: str, *, log_level: str) -> _DeviceServer:
    app = create_app(phone, allowed_hosts=[host])
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, timeout_graceful_shutdown=3, lifespan="on"
    )
    return _DeviceServer(config, phone)


def serve(
    phone: Phone,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); `on_ready(url)` is called once listening."""
    sock = bind(host, port)
    if on_ready is not None:
        on_ready(url_of(sock))
    _server(phone, host, log_level=log_level).run(sockets=[sock])


@contextmanager
def running(
    phone: Phone, host: str = DEFAULT_HOST, port: int = 0, *, sock: socket.socket | None = None
) -> Iterator[str]:
    """Serve in a background thread for the duration of the block; yields the page's URL.

    `sock`: a socket already bound with `bind(host, port)` (to learn early that the port is taken).
    """
    sock = sock or bind(host, port)
    server = _server(phone, host, log_level="warning")
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="device-screen", daemon=True
    )
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.02)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).version == 6
    except ValueError:
        return False
