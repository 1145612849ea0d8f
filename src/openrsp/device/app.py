"""The HTTP side of the device screen: the page, its JSON API and its event stream (Starlette).

    GET  /                                      the page (static HTML/JS/CSS, nothing from a CDN)
    GET  /api/screen                            EID, network, profiles, the download in progress
    GET  /api/events                            server-sent events: "screen" and "download"
    POST /api/profiles/{iccid}/enable|disable|delete, /nickname {"nickname"}
    POST /api/qr                                a picture (raw body) -> {"activationCode"}
    POST /api/downloads                         {"activationCode", "confirmationCode"?, "consented"?}
    POST /api/discovery                         "Check for eSIMs": events at the root SM-DS; the first
                                                one starts downloading -> {"events", "download"}
    POST /api/downloads/{id}/consent            {"accept": true|false}
    POST /api/downloads/{id}/confirmation-code  {"code"}
    POST /api/downloads/{id}/cancel

Card work is blocking, so handlers run in Starlette's thread pool. The page is served on loopback,
yet any web site the user visits could post to it: POSTs must carry a JSON (or picture) content type,
which a cross-site form cannot send without a CORS preflight this app never answers, and the Host
header must name this machine (no DNS rebinding).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from openrsp.device.download_job import NotWaiting
from openrsp.device.gate import CardBusy
from openrsp.device.phone import Phone
from openrsp.device.problems import explain
from openrsp.errors import InputError, OpenRSPError
from openrsp.lpa.core.errors import Es10Error

STATIC = Path(__file__).parent / "static"
MAX_PICTURE = 10 * 1024 * 1024
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
log = logging.getLogger("openrsp.device")

Handler = Callable[[Request], Awaitable[Response]]


def problem_response(error: BaseException) -> JSONResponse:
    """A failure as JSON for the page: {"problem": {...}} with a status that fits."""
    if isinstance(error, CardBusy | NotWaiting):
        status = 409
    elif isinstance(error, InputError):
        status = 400
    elif isinstance(error, Es10Error):
        status = 409  # the eUICC refused: the request conflicts with its state
    elif isinstance(error, OpenRSPError):
        status = 502
    else:
        log.exception("device screen: unexpected failure", exc_info=error)
        status = 500
    return JSONResponse({"problem": explain(error).to_json()}, status_code=status)


def _guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            return problem_response(exc)

    return run


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InputError("send JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        raise InputError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InputError(f"{name} must be text")
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _text(body, name)


async def _picture(request: Request) -> bytes:
    """The request body, read no further than MAX_PICTURE."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_PICTURE:
            raise InputError(f"the picture is too large (at most {MAX_PICTURE // (1024 * 1024)} MB)")
    if not data:
        raise InputError("the picture is empty")
    return bytes(data)


def create_app(phone: Phone, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The Starlette app around `phone`; `allowed_hosts` adds names the page may be reached by."""

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def screen(_request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(phone.view))

    async def events(_request: Request) -> Response:
        return StreamingResponse(
            phone.events.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def profile_action(action: Callable[[str], dict[str, Any]]) -> Handler:
        async def run(request: Request) -> Response:
            await _json_body(request)  # no fields, but the content type keeps other sites out
            return JSONResponse(await run_in_threadpool(action, request.path_params["iccid"]))

        return run

    async def nickname(request: Request) -> Response:
        body = await _json_body(request)
        value = _text(body, "nickname")
        return JSONResponse(await run_in_threadpool(phone.rename, request.path_params["iccid"], value))

    async def qr(request: Request) -> Response:
        kind = request.headers.get("content-type", "")
        if not (kind.startswith("image/") or kind.startswith("application/octet-stream")):
            raise InputError("send the picture itself (Content-Type: image/...)")
        picture = await _picture(request)
        return JSONResponse({"activationCode": await run_in_threadpool(phone.read_qr, picture)})

    async def start_download(request: Request) -> Response:
        body = await _json_body(request)
        code = _text(body, "activationCode")
        confirmation = _optional_text(body, "confirmationCode")
        consented = body.get("consented") is True
        job = await run_in_threadpool(
            lambda: phone.start_download(code, confirmation_code=confirmation, consented=consented)
        )
        return JSONResponse(job.to_json(), status_code=202)

    async def check_for_esims(request: Request) -> Response:
        await _json_body(request)
        found = await run_in_threadpool(phone.check_for_esims)
        return JSONResponse(found, status_code=202 if found["download"] else 200)

    async def consent(request: Request) -> Response:
        body = await _json_body(request)
        job = phone.current_job(request.path_params["job"])
        job.answer_consent(body.get("accept") is True)
        return JSONResponse(job.to_json())

    async def confirmation_code(request: Request) -> Response:
        body = await _json_body(request)
        code = _text(body, "code")
        job = phone.current_job(request.path_params["job"])
        job.answer_code(code)
        return JSONResponse(job.to_json())

    async def cancel(request: Request) -> Response:
        await _json_body(request)
        job = phone.current_job(request.path_params["job"])
        job.cancel()
        return JSONResponse(job.to_json())

    async def current_download(request: Request) -> Response:
        return JSONResponse(phone.current_job(request.path_params["job"]).to_json())

    routes = [
        Route("/", index),
        Route("/api/screen", _guarded(screen)),
        Route("/api/events", events),
        Route("/api/profiles/{iccid}/enable", _guarded(profile_action(phone.enable)), methods=["POST"]),
        Route("/api/profiles/{iccid}/disable", _guarded(profile_action(phone.disable)), methods=["POST"]),
        Route("/api/profiles/{iccid}/delete", _guarded(profile_action(phone.delete)), methods=["POST"]),
        Route("/api/profiles/{iccid}/nickname", _guarded(nickname), methods=["POST"]),
        Route("/api/qr", _guarded(qr), methods=["POST"]),
        Route("/api/downloads", _guarded(start_download), methods=["POST"]),
        Route("/api/discovery", _guarded(check_for_esims), methods=["POST"]),
        Route("/api/downloads/{job:int}", _guarded(current_download)),
        Route("/api/downloads/{job:int}/consent", _guarded(consent), methods=["POST"]),
        Route("/api/downloads/{job:int}/confirmation-code", _guarded(confirmation_code), methods=["POST"]),
        Route("/api/downloads/{job:int}/cancel", _guarded(cancel), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    hosts = LOCAL_HOSTS + [h for h in allowed_hosts or [] if h not in LOCAL_HOSTS]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        phone.events.close()  # let open event streams end so the server can stop

    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        lifespan=lifespan,
    )
