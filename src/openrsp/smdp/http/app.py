"""The SM-DP+ ASGI application: ES9+ and ES2+ over the JSON binding of SGP.22 §6.5.

Framing is checked here (Content-Type, X-Admin-Protocol, JSON, mandatory fields, client
certificates); the functions themselves are the services (es9plus.Es9Service,
es2plus.Es2Service), run in the database's thread pool (db/executor.py) because they use the
(synchronous) database: nothing that waits on the database, or on SQLite's writer lock, runs on
the event loop's thread.
Every failure is an HTTP 200 whose header.functionExecutionStatus is "Failed" with SGP.22 codes:
never an HTTP 500, never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from openrsp.smdp import es9plus
from openrsp.smdp.config import ENV_CONFIG, SmdpConfig
from openrsp.smdp.context import SmdpContext, build_context
from openrsp.smdp.db.executor import DatabaseExecutor
from openrsp.smdp.errors import Es2Error, Es9Error, RspStatusError
from openrsp.smdp.es2plus import EXTENSION_FUNCTIONS, Es2Service
from openrsp.smdp.es2plus import FUNCTIONS as ES2_FUNCTIONS
from openrsp.smdp.jsonapi import ADMIN_PROTOCOL, ADMIN_PROTOCOL_PREFIX, failure, success
from openrsp.smdp.outbox import OutboxWorker
from openrsp.smdp.tlsfiles import load_ca_certificates
from openrsp.status_codes import (
    FUNCTION,
    FUNCTION_PROVIDER,
    FUNCTION_REQUESTER,
    PROTOCOL_FORMAT,
    PROTOCOL_VERSION,
)

_log = logging.getLogger("openrsp.smdp")


# The mandatory request fields of each ES9+ function (SGP.22 §5.6).
ES9_FIELDS: dict[str, tuple[str, ...]] = {
    "initiateAuthentication": ("euiccChallenge", "euiccInfo1", "smdpAddress"),
    "authenticateClient": ("transactionId", "authenticateServerResponse"),
    "getBoundProfilePackage": ("transactionId", "prepareDownloadResponse"),
    "handleNotification": ("pendingNotification",),
    "cancelSession": ("transactionId", "cancelSessionResponse"),
}
STATUS_PATH = "/openrsp/es2plus/profileStatus"
ES9_PREFIX = "/gsma/rsp2/es9plus/"


class SmdpApp:
    """The request handlers, bound to one SmdpContext."""

    def __init__(self, context: SmdpContext) -> None:
        self.context = context
        self.operator_cas = load_ca_certificates(context.config.operator_ca)
        self.lpa_cas = load_ca_certificates(context.config.lpa_ca)
        self.database = DatabaseExecutor(context.repo.engine)
        self.max_body = context.config.limits.max_body_bytes

    # -- ES9+ -----------------------------------------------------------------------------------

    async def es9(self, request: Request) -> Response:
        status, content, close = await self._es9(
            request.path_params["function"],
            request.headers,
            lambda: read_body(request.receive, self.max_body),
            request.scope,
        )
        if content is None:
            return Response(status_code=status, headers={"X-Admin-Protocol": ADMIN_PROTOCOL})
        return _json(content, status, close=close)

    async def es9_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ES9+ straight on ASGI: the hot path, without the framework's objects per request."""
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }

        status, content, close = await self._es9(
            scope["path"][len(ES9_PREFIX) :], headers, lambda: read_body(receive, self.max_body), scope
        )
        if status:
            await _send_json(send, status, content, close=close)

    async def _es9(
        self,
        function: str,
        headers: Mapping[str, str],
        read_body: Callable[[], Awaitable[bytes]],
        scope: Scope,
    ) -> tuple[int, dict[str, Any] | None, bool]:
        """(HTTP status, JSON answer or None for an empty 204, close the connection) of one ES9+
        request; status 0: the client went away, nothing to answer."""
        if function not in ES9_FIELDS:
            return 404, failure(Es9Error(FUNCTION, "3.9", f"unknown ES9+ function {function}")), False
        try:
            if self.lpa_cas and _client_certificate(scope, self.lpa_cas) is None:
                raise Es9Error(FUNCTION_REQUESTER, "1.1", "a client certificate from the LPA CA is required")
            _check_headers(headers, Es9Error, self.max_body)
            body = _decode_body(await read_body(), Es9Error)
            for name in ES9_FIELDS[function]:
                if name not in body:
                    raise Es9Error(PROTOCOL_FORMAT, "2.2", f"{name} is missing")
                if not isinstance(body[name], str):
                    raise Es9Error(PROTOCOL_FORMAT, "2.1", f"{name} must be a string")
            result = await self.database.run(self._call_es9, function, body)
        except BodyTooLarge:
            error = Es9Error(PROTOCOL_FORMAT, "2.1", f"request body over {self.max_body} bytes")
            _log.warning("ES9+ %s from %s refused: %s", function, _peer(scope), error)
            return 200, failure(error), True
        except ClientGone:
            _log.info("ES9+ %s: %s went away before its request was complete", function, _peer(scope))
            return 0, None, True
        except Es9Error as exc:
            _log.warning("ES9+ %s from %s refused: %s", function, _peer(scope), _brief(exc))
            return 200, failure(exc), False
        except Exception:
            _log.exception("ES9+ %s: unexpected error", function)
            return 200, failure(Es9Error(FUNCTION_PROVIDER, "4.2", "internal error in the SM-DP+")), False
        if function == "handleNotification":
            return 204, None, False
        return 200, success(result), False

    def _call_es9(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        service = es9plus.Es9Service(self.context)
        result = getattr(service, function)(body)
        return dict(result or {})

    # -- ES2+ -----------------------------------------------------------------------------------

    async def es2(self, request: Request) -> Response:
        function = request.path_params["function"]
        if function not in ES2_FUNCTIONS:
            return _json(failure(Es2Error(FUNCTION, "3.9", f"unknown ES2+ function {function}")), 404)
        return await self._es2_call(request, function)

    async def profile_status(self, request: Request) -> Response:
        return await self._es2_call(request, EXTENSION_FUNCTIONS[0])

    async def _es2_call(self, request: Request, function: str) -> Response:
        try:
            cert = self._operator_certificate(request)
            _check_headers(request.headers, Es2Error, self.max_body)
            body = _decode_body(await read_body(request.receive, self.max_body), Es2Error)
            _check_request_header(body)
            fields = {k: v for k, v in body.items() if k != "header"}
            result = await self.database.run(self._call_es2, cert, function, fields)
        except BodyTooLarge:
            error = Es2Error(PROTOCOL_FORMAT, "2.1", f"request body over {self.max_body} bytes")
            _log.warning("ES2+ %s from %s refused: %s", function, _peer(request.scope), error)
            return _json(failure(error), close=True)
        except ClientGone:
            _log.info("ES2+ %s: %s went away before its request was complete", function, _peer(request.scope))
            return Response(status_code=400, headers={"connection": "close"})
        except Es2Error as exc:
            _log.warning("ES2+ %s from %s refused: %s", function, _peer(request.scope), _brief(exc))
            return _json(failure(exc))
        except Exception:
            _log.exception("ES2+ %s: unexpected error", function)
            return _json(failure(Es2Error(FUNCTION_PROVIDER, "4.2", "internal error in the SM-DP+")))
        return _json(success(result))

    def _operator_certificate(self, request: Request) -> x509.Certificate:
        if not self.operator_cas:
            raise Es2Error(FUNCTION_REQUESTER, "1.1", "ES2+ is closed: no operator CA is configured")
        if not _peer_certificates(request.scope):
            raise Es2Error(FUNCTION_REQUESTER, "1.1", "ES2+ needs an operator client certificate")
        cert = _client_certificate(request.scope, self.operator_cas)
        if cert is None:
            raise Es2Error(FUNCTION_REQUESTER, "1.2", "the client certificate is not from the operator CA")
        return cert

    def _call_es2(self, cert: x509.Certificate, function: str, fields: dict[str, Any]) -> dict[str, Any]:
        context = self.context

        def operator_of_certificate(session: Session) -> str:
            # Resolved inside the function's own transaction: one transaction per ES2+ call.
            operator = context.repo.operator_for_certificate(
                session, _common_name(cert), context.config.default_operator
            )
            if operator is None:
                raise Es2Error(FUNCTION_REQUESTER, "1.2", "this certificate belongs to no operator here")
            return operator.name

        service = Es2Service(
            context.repo,
            operator=operator_of_certificate,
            address=context.address,
            defaults=context.order_defaults,
            clock=context.clock,
            rng=context.rng,
            smds=context.smds,
        )
        return service.call(function, fields)


# -- framing helpers ------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """The request body is over the limit (max_body_bytes): refused, the rest left unread."""


class ClientGone(Exception):
    """The client closed the connection before its request was complete."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, counted while it arrives: stops reading as soon as it is over `limit`."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _check_headers(headers: Mapping[str, str], error: type[RspStatusError], max_body: int) -> None:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise error(PROTOCOL_FORMAT, "2.1", "Content-Type must be application/json")
    protocol = headers.get("x-admin-protocol")
    if protocol is None:
        raise error(PROTOCOL_VERSION, "2.2", "X-Admin-Protocol header is missing")
    if not protocol.startswith(ADMIN_PROTOCOL_PREFIX):
        raise error(PROTOCOL_VERSION, "3.1", f"unsupported X-Admin-Protocol {protocol!r} (gsma/rsp/v2.x.y)")
    declared = headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 18 or int(declared) > max_body):
        raise BodyTooLarge  # refused before reading a byte of it


def _decode_body(raw: bytes, error: type[RspStatusError]) -> dict[str, Any]:
    try:
        body = json.loads(raw)  # C decoder: linear; too deep a nesting is a RecursionError
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise error(PROTOCOL_FORMAT, "2.1", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise error(PROTOCOL_FORMAT, "2.1", "request body must be a JSON object")
    return body


def _check_request_header(body: dict[str, Any]) -> None:
    header = body.get("header")
    if not isinstance(header, dict):
        raise Es2Error(PROTOCOL_FORMAT, "2.2", "header is missing")
    for name in ("functionRequesterIdentifier", "functionCallIdentifier"):
        if not isinstance(header.get(name), str) or not header[name]:
            raise Es2Error(PROTOCOL_FORMAT, "2.2", f"header.{name} is missing")


def _peer_certificates(scope: Scope) -> list[str]:
    tls = scope.get("extensions", {}).get("tls") or {}
    return list(tls.get("client_cert_chain") or [])


def _client_certificate(scope: Scope, cas: list[x509.Certificate]) -> x509.Certificate | None:
    """The peer's certificate if one of `cas` issued it (TLS already checked chain and validity)."""
    chain = _peer_certificates(scope)
    if not chain or not cas:
        return None
    return _issued_by_one_of(chain[0], tuple(cas))


@functools.lru_cache(maxsize=256)
def _issued_by_one_of(pem: str, cas: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    """Remembered per certificate: a keep-alive client sends the same one with every request."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
            return cert
        except Exception:  # wrong issuer name, wrong signature, unsupported key: not this CA
            continue
    return None


def _common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _json(content: dict[str, Any], status_code: int = 200, *, close: bool = False) -> Response:
    headers = {"X-Admin-Protocol": ADMIN_PROTOCOL}
    if close:  # the rest of the request is not read: the connection cannot carry another one
        headers["Connection"] = "close"
    return Response(_encode(content), status_code=status_code, headers=headers, media_type="application/json")


def _encode(content: dict[str, Any]) -> bytes:
    """The JSON answer as JSONResponse encodes it; a message quoting a client's lone surrogate
    (a \\uD800 escape it sent) comes out escaped instead of failing the answer."""
    try:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _brief(error: Exception) -> str:
    """The error for the log: one line, bounded (messages may quote what the client sent)."""
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:300] + "…"


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "a client"


_PROTOCOL_HEADER = (b"x-admin-protocol", ADMIN_PROTOCOL.encode())


async def _send_json(send: Send, status: int, content: dict[str, Any] | None, *, close: bool = False) -> None:
    """The answer as JSONResponse would send it (the same bytes), or an empty one (204)."""
    extra = [(b"connection", b"close")] if close else []
    if content is None:
        await send({"type": "http.response.start", "status": status, "headers": [_PROTOCOL_HEADER, *extra]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = _encode(content)
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        _PROTOCOL_HEADER,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _health(_request: Request) -> Response:
    # The worker's pid lets an operator (and the tests) see which worker answered.
    return JSONResponse({"status": "ok", "pid": os.getpid()})


# -- application factories --------------------------------------------------------------------------


def create_app(context: SmdpContext, *, close_context: bool = True) -> ASGIApp:
    handlers = SmdpApp(context)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Every worker of every node delivers due outbox calls (progress reports, SM-DS events).
        worker = OutboxWorker(context.outbox).start() if context.outbox is not None else None
        yield
        if worker is not None:
            worker.stop()
        handlers.database.close()
        if close_context:
            context.close()

    routes = [
        Route(ES9_PREFIX + "{function}", handlers.es9, methods=["POST"]),
        Route("/gsma/rsp2/es2plus/{function}", handlers.es2, methods=["POST"]),
        Route(STATUS_PATH, handlers.profile_status, methods=["POST"]),
        Route("/openrsp/health", _health, methods=["GET"]),
    ]
    framework = Starlette(routes=routes, lifespan=lifespan)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await dispatch(scope, receive, send)
        except asyncio.CancelledError:
            # Only the server cancels a request: at shutdown, once shutdown_timeout_seconds is over.
            _log.warning(
                "%s %s abandoned: the server is shutting down", scope.get("method"), scope.get("path")
            )

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        # ES9+ POSTs (four per download) skip the framework; everything else goes through it.
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if (
                path.startswith(ES9_PREFIX)
                and "/" not in path[len(ES9_PREFIX) :]
                and len(path) > len(ES9_PREFIX)
            ):
                await handlers.es9_asgi(scope, receive, send)
                return
        await framework(scope, receive, send)

    return app


def create_app_from_env() -> ASGIApp:
    """uvicorn factory for `smdp serve` workers: the resolved configuration comes in the environment."""
    text = os.environ.get(ENV_CONFIG)
    if not text:
        raise RuntimeError(f"{ENV_CONFIG} is not set; start the SM-DP+ with `openrsp smdp serve`")
    config = SmdpConfig.from_json(text)
    _log_to_stderr(config.log_level)
    return create_app(build_context(config))


def _log_to_stderr(level: str) -> None:
    """openrsp's own messages next to uvicorn's (uvicorn configures only its own loggers)."""
    logger = logging.getLogger("openrsp")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
