"""TLS for the SM-DP+: the server SSL context, and the verified client certificate in the ASGI scope.

uvicorn does not tell the application which certificate the client presented. This small h11
protocol subclass reads it from the TLS connection once the handshake is done and puts it in every
request's scope as the ASGI "tls" extension (`scope["extensions"]["tls"]["client_cert_chain"]`:
PEM strings, leaf first). The certificate was verified by OpenSSL against the configured client CAs
during the handshake; a certificate from any other CA never gets this far.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol


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


class ClientCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the peer certificate of each connection in the request scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = tls_extension(transport)
        if tls is None:
            return
        inner = self.app

        async def app_with_tls(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})["tls"] = tls
            await inner(scope, receive, send)

        self.app = app_with_tls
