"""The SM-DS ASGI application: ES11 (LPA), ES12 (SM-DP+) and ES15 (alternative SM-DS) over HTTPS.

Framing (Content-Type, X-Admin-Protocol, JSON, body size) is checked as the SM-DP+ checks it
(openrsp.rspserver.framing);
every failure is an HTTP 200 with a Failed functionExecutionStatus and SGP.22 codes. Who may call:

    ES11  anyone (the eUICC authenticates inside the protocol)
    ES12  an SM-DP+: a TLS client certificate of role DP TLS issued by one of the --dp-ca CAs
    ES15  an SM-DS: a TLS client certificate of role DS TLS issued by a CI this SM-DS trusts

ES11 is also answered under /gsma/rsp2/es9plus/, the paths lpac posts its discovery to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from cryptography import x509
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from openrsp.pki.certio import load_certificates
from openrsp.pki.roles import role_of
from openrsp.rspserver.errors import RspStatusError
from openrsp.rspserver.es12_client import SmdsClient, split_url, ssl_context
from openrsp.rspserver.framing import (
    BodyTooLarge,
    ClientGone,
    check_headers,
    decode_body,
    encode,
    issued_by_one_of,
    peer_certificates,
    read_body,
)
from openrsp.rspserver.ids import utcnow
from openrsp.rspserver.jsonapi import ADMIN_PROTOCOL, failure, success
from openrsp.smds import status
from openrsp.smds.config import ENV_CONFIG, SmdsConfig
from openrsp.smds.credentials import SmdsCredentials
from openrsp.smds.es11.service import Es11Context, Es11Service
from openrsp.smds.es12.service import Es12Service
from openrsp.smds.es15.forwarding import RootLink
from openrsp.smds.store import EventStore
from openrsp.status_codes import FUNCTION, FUNCTION_PROVIDER, PROTOCOL_FORMAT

_log = logging.getLogger("openrsp.smds")

ES11_FIELDS = {
    "initiateAuthentication": ("euiccChallenge", "euiccInfo1"),
    "authenticateClient": ("transactionId", "authenticateServerResponse"),
}
ES12_FUNCTIONS = ("registerEvent", "deleteEvent")
MAX_BODY = 1 << 20  # request body, counted while it arrives; more is refused


class SmdsApp:
    def __init__(self, config: SmdsConfig, credentials: SmdsCredentials, store: EventStore) -> None:
        self.config = config
        self.address = config.address or credentials.address
        self.es11_context = Es11Context(
            credentials=credentials,
            store=store,
            address=self.address,
            token_key=config.token_key(),
            session_ttl=timedelta(seconds=config.session_ttl_seconds),
            clock=utcnow,
            rng=os.urandom,
        )
        ci_certs = tuple(c for path in credentials.ci_files for c in load_certificates(path))
        dp_files = config.dp_ca or credentials.ci_files
        self.dp_cas = tuple(c for path in dp_files for c in load_certificates(path))
        self.ds_cas = ci_certs
        root = None
        if config.root:
            target = split_url(config.root)
            if config.root_address:
                target = type(target)(config.root_address, target.url)
            client = SmdsClient(ssl_context(credentials.tls_chain, credentials.tls_key, credentials.ci_files))
            root = RootLink(client, target, self.address)
        self.es12_service = Es12Service(store, root=root)
        self.es15_service = Es12Service(store)  # the root end of ES15: records, never forwards further

    async def es11(self, request: Request) -> Response:
        function = request.path_params["function"]
        if function not in ES11_FIELDS:
            return _json(
                failure(status.Code(FUNCTION, "3.9", f"unknown ES11 function {function}").error()), 404
            )

        def call(body: dict[str, Any]) -> dict[str, Any]:
            for name in ES11_FIELDS[function]:
                if name not in body:
                    raise status.MISSING_INPUT.error(f"{name} is missing")
            return getattr(Es11Service(self.es11_context), function)(body)

        return await self._answer(request, f"ES11 {function}", call)

    async def es12(self, request: Request) -> Response:
        return await self._server_call(request, "ES12", self.es12_service, "dptls", self.dp_cas)

    async def es15(self, request: Request) -> Response:
        return await self._server_call(request, "ES15", self.es15_service, "dstls", self.ds_cas)

    async def _server_call(
        self,
        request: Request,
        interface: str,
        service: Es12Service,
        role: str,
        cas: tuple[x509.Certificate, ...],
    ) -> Response:
        function = request.path_params["function"]
        if function not in ES12_FUNCTIONS:
            return _json(failure(status.Code(FUNCTION, "3.9", f"unknown {interface} function").error()), 404)

        def call(body: dict[str, Any]) -> dict[str, Any]:
            caller = self._caller(request, role, cas)
            fields = {k: v for k, v in body.items() if k != "header"}
            handler = service.register_event if function == "registerEvent" else service.delete_event
            return handler(fields, caller)

        return await self._answer(request, f"{interface} {function}", call)

    @staticmethod
    def _caller(request: Request, role: str, cas: tuple[x509.Certificate, ...]) -> str:
        chain = peer_certificates(request.scope)
        if not chain:
            raise status.NO_CLIENT_CERTIFICATE.error()
        cert = issued_by_one_of(chain[0], cas)
        if cert is None:
            raise status.NOT_ALLOWED.error(
                "the client certificate is not from a CA trusted for this interface"
            )
        if role_of(cert) != role:
            raise status.NOT_ALLOWED.error(
                f"a {role} certificate is needed, not {role_of(cert) or 'another role'}"
            )
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = names.get_values_for_type(x509.DNSName)
        return dns[0] if dns else cert.subject.rfc4514_string()

    async def _answer(
        self, request: Request, what: str, call: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Response:
        try:
            check_headers(request.headers, status.SmdsError, MAX_BODY)
            body = decode_body(await read_body(request.receive, MAX_BODY), status.SmdsError)
            result = await run_in_threadpool(call, body)
        except BodyTooLarge:
            error = status.SmdsError(PROTOCOL_FORMAT, "2.1", f"request body over {MAX_BODY} bytes")
            _log.info("%s failed: %s", what, error)
            return _json(failure(error), close=True)
        except ClientGone:
            _log.info("%s: the client went away before its request was complete", what)
            return Response(status_code=400, headers={"connection": "close"})
        except RspStatusError as exc:
            _log.info("%s failed: %s", what, exc)
            return _json(failure(exc))
        except Exception:
            _log.exception("%s: unexpected error", what)
            return _json(failure(status.SmdsError(FUNCTION_PROVIDER, "4.2", "internal error in the SM-DS")))
        return _json(success(result))


def _json(content: dict[str, Any], status_code: int = 200, *, close: bool = False) -> Response:
    headers = {"X-Admin-Protocol": ADMIN_PROTOCOL}
    if close:  # the rest of the request is not read: the connection cannot carry another one
        headers["Connection"] = "close"
    return Response(encode(content), status_code=status_code, headers=headers, media_type="application/json")


async def _health(_request: Request) -> Response:
    return JSONResponse({"status": "ok", "pid": os.getpid()})


def create_app(config: SmdsConfig) -> ASGIApp:
    if config.credentials_dir is None:
        raise RuntimeError("the SM-DS needs credentials")
    credentials = SmdsCredentials.load(config.credentials_dir)
    store = EventStore.open(config.db_url, create=False)
    handlers = SmdsApp(config, credentials, store)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        store.engine.dispose()

    routes = [
        Route("/gsma/rsp2/es11/{function}", handlers.es11, methods=["POST"]),
        Route("/gsma/rsp2/es9plus/{function}", handlers.es11, methods=["POST"]),  # lpac's discovery
        Route("/gsma/rsp2/es12/{function}", handlers.es12, methods=["POST"]),
        Route("/gsma/rsp2/es15/{function}", handlers.es15, methods=["POST"]),
        Route("/openrsp/health", _health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def create_app_from_env() -> ASGIApp:
    """uvicorn factory for `smds serve` workers: the resolved configuration comes in the environment."""
    text = os.environ.get(ENV_CONFIG)
    if not text:
        raise RuntimeError(f"{ENV_CONFIG} is not set; start the SM-DS with `openrsp smds serve`")
    config = SmdsConfig.from_json(text)
    logger = logging.getLogger("openrsp")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(
        config.log_level.upper() if config.log_level.upper() in logging.getLevelNamesMapping() else "INFO"
    )
    return create_app(config)
