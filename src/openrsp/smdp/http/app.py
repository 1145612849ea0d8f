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
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from cryptography import x509
from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from openrsp.rspserver.framing import (
    BodyTooLarge,
    ClientGone,
    brief,
    check_headers,
    client_certificate,
    common_name,
    decode_body,
    encode,
    peer,
    peer_certificates,
    read_body,
)
from openrsp.rspserver.jsonapi import ADMIN_PROTOCOL, failure, success
from openrsp.smdp.config import ENV_CONFIG, SmdpConfig
from openrsp.smdp.context import SmdpContext, build_context
from openrsp.smdp.db import operators, transactions
from openrsp.smdp.db.executor import DatabaseExecutor
from openrsp.smdp.db.loop_writer import LoopWriter, WriterBusy
from openrsp.smdp.errors import Es2Error, Es9Error
from openrsp.smdp.es2.service import EXTENSION_FUNCTIONS, Es2Service
from openrsp.smdp.es2.service import FUNCTIONS as ES2_FUNCTIONS
from openrsp.smdp.es9 import service as es9plus
from openrsp.smdp.es9.store import Es9Store
from openrsp.smdp.outbox import OutboxWorker
from openrsp.smdp.tlsfiles import load_ca_certificates
from openrsp.status_codes import (
    FUNCTION,
    FUNCTION_PROVIDER,
    FUNCTION_REQUESTER,
    PROTOCOL_FORMAT,
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
# Seconds an ES9+ call waits, without blocking the loop, each time it finds the SQLite file locked
# by another connection, before it goes to the database's thread pool (about 30 ms in all).
LOCKED_WAITS = (0.001, 0.002, 0.004, 0.008, 0.015)
ES9_PREFIX = "/gsma/rsp2/es9plus/"


class SmdpApp:
    """The request handlers, bound to one SmdpContext."""

    def __init__(self, context: SmdpContext) -> None:
        self.context = context
        self.operator_cas = load_ca_certificates(context.config.operator_ca)
        self.lpa_cas = load_ca_certificates(context.config.lpa_ca)
        self.database = DatabaseExecutor(context.database.engine)
        self.max_body = context.config.limits.max_body_bytes
        # A single worker on SQLite runs ES9+ transactions on the loop and fsyncs off it
        # (db/loop_writer.py); otherwise (PostgreSQL, several workers, another storage) every
        # call goes to the database's thread pool.
        self.loop_writer = (
            LoopWriter.for_engine(context.database.engine) if context.es9_storage is None else None
        )
        self.loop_store = (
            Es9Store(context.database, begin=self.loop_writer.transaction)
            if self.loop_writer is not None
            else None
        )

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
        headers = _header_map(scope["headers"])
        status, content, close = await self._es9(
            scope["path"][len(ES9_PREFIX) :], headers, lambda: read_body(receive, self.max_body), scope
        )
        if status:
            headers, body = _json_answer(status, content, close=close)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    async def es9_direct(
        self, path: str, raw_headers: list[tuple[bytes, bytes]], body: bytes, scope: Scope
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """ES9+ for the protocol's direct requests (rspserver/protocol.py): the whole body in, the
        answer out, the same bytes as es9_asgi's; None when the client went away first."""
        headers = _header_map(raw_headers)

        async def read_body() -> bytes:
            return body

        try:
            status, content, close = await self._es9(path[len(ES9_PREFIX) :], headers, read_body, scope)
        except asyncio.CancelledError:
            # Only the server cancels a request: at shutdown, once shutdown_timeout_seconds is over.
            _log.warning("POST %s abandoned: the server is shutting down", path)
            return None
        if not status:
            return None
        return (status, *_json_answer(status, content, close=close))

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
            if self.lpa_cas and client_certificate(scope, self.lpa_cas) is None:
                raise Es9Error(FUNCTION_REQUESTER, "1.1", "a client certificate from the LPA CA is required")
            check_headers(headers, Es9Error, self.max_body)
            body = decode_body(await read_body(), Es9Error)
            for name in ES9_FIELDS[function]:
                if name not in body:
                    raise Es9Error(PROTOCOL_FORMAT, "2.2", f"{name} is missing")
                if not isinstance(body[name], str):
                    raise Es9Error(PROTOCOL_FORMAT, "2.1", f"{name} must be a string")
            result = await self._run_es9(function, body)
        except BodyTooLarge:
            error = Es9Error(PROTOCOL_FORMAT, "2.1", f"request body over {self.max_body} bytes")
            _log.warning("ES9+ %s from %s refused: %s", function, peer(scope), error)
            return 200, failure(error), True
        except ClientGone:
            _log.info("ES9+ %s: %s went away before its request was complete", function, peer(scope))
            return 0, None, True
        except Es9Error as exc:
            _log.warning("ES9+ %s from %s refused: %s", function, peer(scope), brief(exc))
            return 200, failure(exc), False
        except Exception:
            _log.exception("ES9+ %s: unexpected error", function)
            return 200, failure(Es9Error(FUNCTION_PROVIDER, "4.2", "internal error in the SM-DP+")), False
        if function == "handleNotification":
            return 204, None, False
        return 200, success(result), False

    async def _run_es9(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        """The call on the loop's SQLite connection, answered once its commits are durable; in the
        database's thread pool when there is no such connection, or when another connection still
        holds the file after a few short waits (LOCKED_WAITS: an ES2+ call or an outbox record is
        over in a moment; a call sent to the pool at once would hold the lock there, with its fsync,
        and send the calls after it to the pool too)."""
        writer = self.loop_writer
        if writer is None:
            return await self.database.run(self._call_es9, function, body)
        for wait in (*LOCKED_WAITS, None):
            await writer.ready()  # at once, unless the WAL is being checkpointed
            commits = writer.commits
            try:
                return self._call_es9(function, body, self.loop_store)
            except WriterBusy as busy:
                if not busy.locked or wait is None:
                    break
            finally:
                if writer.commits != commits:  # an error's effects are committed too: durable first
                    await writer.durable()
            await asyncio.sleep(wait)  # WriterBusy comes before anything ran: nothing to undo
        return await self.database.run(self._call_es9, function, body)

    def _call_es9(self, function: str, body: dict[str, Any], store: Es9Store | None = None) -> dict[str, Any]:
        service = es9plus.Es9Service(self.context, store)
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
            check_headers(request.headers, Es2Error, self.max_body)
            body = decode_body(await read_body(request.receive, self.max_body), Es2Error)
            _check_request_header(body)
            fields = {k: v for k, v in body.items() if k != "header"}
            result = await self.database.run(self._call_es2, cert, function, fields)
        except BodyTooLarge:
            error = Es2Error(PROTOCOL_FORMAT, "2.1", f"request body over {self.max_body} bytes")
            _log.warning("ES2+ %s from %s refused: %s", function, peer(request.scope), error)
            return _json(failure(error), close=True)
        except ClientGone:
            _log.info("ES2+ %s: %s went away before its request was complete", function, peer(request.scope))
            return Response(status_code=400, headers={"connection": "close"})
        except Es2Error as exc:
            _log.warning("ES2+ %s from %s refused: %s", function, peer(request.scope), brief(exc))
            return _json(failure(exc))
        except Exception:
            _log.exception("ES2+ %s: unexpected error", function)
            return _json(failure(Es2Error(FUNCTION_PROVIDER, "4.2", "internal error in the SM-DP+")))
        return _json(success(result))

    def _operator_certificate(self, request: Request) -> x509.Certificate:
        if not self.operator_cas:
            raise Es2Error(FUNCTION_REQUESTER, "1.1", "ES2+ is closed: no operator CA is configured")
        if not peer_certificates(request.scope):
            raise Es2Error(FUNCTION_REQUESTER, "1.1", "ES2+ needs an operator client certificate")
        cert = client_certificate(request.scope, self.operator_cas)
        if cert is None:
            raise Es2Error(FUNCTION_REQUESTER, "1.2", "the client certificate is not from the operator CA")
        return cert

    def _call_es2(self, cert: x509.Certificate, function: str, fields: dict[str, Any]) -> dict[str, Any]:
        context = self.context

        def operator_of_certificate(connection: Connection) -> str:
            # Resolved inside the function's own transaction: one transaction per ES2+ call.
            operator = operators.operator_for_certificate(
                connection, common_name(cert), context.config.default_operator, context.clock()
            )
            if operator is None:
                raise Es2Error(FUNCTION_REQUESTER, "1.2", "this certificate belongs to no operator here")
            return operator.name

        service = Es2Service(
            context.database,
            operator=operator_of_certificate,
            address=context.address,
            defaults=context.order_defaults,
            clock=context.clock,
            rng=context.rng,
            smds=context.smds,
        )
        return service.call(function, fields)


# -- framing helpers: openrsp.rspserver.framing ------------------------------------------------------


def _check_request_header(body: dict[str, Any]) -> None:
    header = body.get("header")
    if not isinstance(header, dict):
        raise Es2Error(PROTOCOL_FORMAT, "2.2", "header is missing")
    for name in ("functionRequesterIdentifier", "functionCallIdentifier"):
        if not isinstance(header.get(name), str) or not header[name]:
            raise Es2Error(PROTOCOL_FORMAT, "2.2", f"header.{name} is missing")


def _json(content: dict[str, Any], status_code: int = 200, *, close: bool = False) -> Response:
    headers = {"X-Admin-Protocol": ADMIN_PROTOCOL}
    if close:  # the rest of the request is not read: the connection cannot carry another one
        headers["Connection"] = "close"
    return Response(encode(content), status_code=status_code, headers=headers, media_type="application/json")


_PROTOCOL_HEADER = (b"x-admin-protocol", ADMIN_PROTOCOL.encode())


def _json_answer(
    status: int, content: dict[str, Any] | None, *, close: bool = False
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of the answer as JSONResponse would send it (the same bytes), or of an
    empty one (204)."""
    extra = [(b"connection", b"close")] if close else []
    if content is None:
        return [_PROTOCOL_HEADER, *extra], b""
    body = encode(content)
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        _PROTOCOL_HEADER,
        *extra,
    ]
    return headers, body


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
        if handlers.loop_writer is not None:
            handlers.loop_writer.close()
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
        if scope["type"] == "http" and scope["method"] == "POST" and _is_es9(scope["path"]):
            await handlers.es9_asgi(scope, receive, send)
            return
        await framework(scope, receive, send)

    def direct_route(path: str) -> Any:
        """The protocol's direct handler of a POST to `path` (rspserver/protocol.py): ES9+ only."""
        return handlers.es9_direct if _is_es9(path) else None

    app.direct_route = direct_route  # type: ignore[attr-defined]

    return app


def _header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


def _is_es9(path: str) -> bool:
    return path.startswith(ES9_PREFIX) and "/" not in path[len(ES9_PREFIX) :] and len(path) > len(ES9_PREFIX)


def create_app_from_env() -> ASGIApp:
    """uvicorn factory for `smdp serve` workers: the resolved configuration comes in the environment."""
    text = os.environ.get(ENV_CONFIG)
    if not text:
        raise RuntimeError(f"{ENV_CONFIG} is not set; start the SM-DP+ with `openrsp smdp serve`")
    config = SmdpConfig.from_json(text)
    _log_to_stderr(config.log_level)
    if config.workers == 1:  # no other worker to queue with on an SQLite file (db/transactions.py)
        transactions.sole_writer_process(config.db_url)
    return create_app(build_context(config))


def _log_to_stderr(level: str) -> None:
    """openrsp's own messages next to uvicorn's (uvicorn configures only its own loggers)."""
    logger = logging.getLogger("openrsp")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
