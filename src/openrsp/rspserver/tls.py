"""TLS for the SM-DP+: the server SSL context, and the verified client certificate in the ASGI scope.

uvicorn does not tell the application which certificate the client presented. The SM-DP+'s
subclass of uvicorn's httptools protocol (`openrsp.rspserver.protocol`) reads it from the TLS
connection once the handshake is done (`tls_extension`) and puts it in every request's scope as the
ASGI "tls" extension
(`scope["extensions"]["tls"]["client_cert_chain"]`:
PEM strings, leaf first). The certificate was verified by OpenSSL against the configured client CAs
during the handshake; a certificate from any other CA never gets this far.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Sequence
from typing import Any

from uvicorn.config import Config


def make_ssl_context(
    _config: Config | None,
    _default: Any,
    *,
    chain_file: str,
    key_file: str,
    client_ca_files: Sequence[str] = (),
) -> ssl.SSLContext:
    """uvicorn `ssl_context_factory`: our chain and key; client certificates optional, verified if sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(chain_file, key_file)
    # No TLS 1.3 session tickets: making the two OpenSSL sends after each handshake costs the server
    # about 0.05 ms, a sixth of the handshake, on every connection; resuming saves the server
    # less than that (one ECDSA signature), and a device opens one connection per download.
    context.num_tickets = 0
    if client_ca_files:
        for ca_file in client_ca_files:
            context.load_verify_locations(ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL  # ES2+/ES9+ decide per path whether one is required
    return context


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
        "tls_version_name": ssl_object.version(),
    }


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send each response at once (TCP_NODELAY). asyncio sets it only on sockets it knows to be
    TCP; the sockets uvicorn's worker processes inherit do not say so, and a response written in
    two parts (head, then body) then waits for the client's delayed ACK: 40 ms on Linux.

    And acknowledge the client's last handshake message now (TCP_QUICKACK, Linux): with no session
    tickets the server sends nothing after the handshake, so that ACK waited for the delayed-ACK
    timer, and a client that does not set TCP_NODELAY (Nagle) held its first request back until
    then: 40 ms on the first request of every connection."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # not a TCP socket after all
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if _QUICKACK is not None:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def with_tls_scope(app: Any, tls: dict[str, Any]) -> Any:
    """The ASGI app `app`, with this connection's "tls" extension in every request's scope."""

    async def app_with_tls(scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("extensions", {})["tls"] = tls
        await app(scope, receive, send)

    return app_with_tls
