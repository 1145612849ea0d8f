"""The access log of `smdp serve` (openrsp.rspserver.accesslog): uvicorn's line, word for word, from
a cheaper path; nothing built when the level leaves it out."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest
from smdp_support import SMDP_HOST, Served
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter as UvicornAccessFormatter
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from openrsp.rspserver.accesslog import AccessFormatter, AccessLog

FORMAT = LOGGING_CONFIG["formatters"]["access"]["fmt"]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _scope(path: str, query: bytes = b"", method: str = "POST", version: str = "1.1") -> dict[str, Any]:
    return {"method": method, "path": path, "query_string": query, "http_version": version}


SCOPES = [
    _scope("/gsma/rsp2/es9plus/authenticateClient"),
    _scope("/openrsp/health", method="GET", version="1.0"),
    _scope('/a path/with%/é/and"quotes', b"x=1&y=%20"),
    _scope("/", b"q"),
]


@pytest.mark.parametrize("status", [200, 204, 404, 408, 431, 503, 500, 599])
@pytest.mark.parametrize("scope", SCOPES, ids=range(len(SCOPES)))
def test_the_line_is_uvicorns(scope: dict[str, Any], status: int) -> None:
    logger = logging.getLogger("test.access.same")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = Records()
    logger.addHandler(handler)
    client = ("127.0.0.1", 40123)
    try:
        AccessLog(logger, client).write(scope, status)
    finally:
        logger.removeHandler(handler)
    [record] = handler.records
    # What uvicorn's request cycle logs, through uvicorn's formatter (no colours, as in a log file).
    uvicorn_record = logger.makeRecord(
        logger.name,
        logging.INFO,
        "x",
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            get_client_addr({"client": client}),
            scope["method"],
            get_path_with_query_string(scope),  # type: ignore[arg-type]
            scope["http_version"],
            status,
        ),
        None,
    )
    expected = UvicornAccessFormatter(FORMAT, use_colors=False).format(uvicorn_record)
    assert AccessFormatter(FORMAT, use_colors=False).format(record) == expected
    assert (
        UvicornAccessFormatter(FORMAT, use_colors=False).format(record) == expected
    )  # any formatter reads it


def test_nothing_is_built_below_info() -> None:
    logger = logging.getLogger("test.access.quiet")
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    handler = Records()
    logger.addHandler(handler)

    async def send(_message: dict[str, Any]) -> None:
        return None

    try:
        log = AccessLog(logger, ("127.0.0.1", 1))
        assert log.logged(send, SCOPES[0]) is send  # the request's own send, no wrapper
        logger.setLevel(logging.INFO)
        wrapped = log.logged(send, SCOPES[0])
        asyncio.run(wrapped({"type": "http.response.start", "status": 200, "headers": []}))
        asyncio.run(wrapped({"type": "http.response.body", "body": b""}))
    finally:
        logger.removeHandler(handler)
    assert len(handler.records) == 1  # one line per answer, at its start


@pytest.mark.xdist_group("smdp-served")
@pytest.mark.parametrize("served", ["sqlite"], indirect=True)
def test_smdp_serve_writes_one_line_per_answer(served: Served, lpa_cert) -> None:
    server = served.server
    since = len(server.log.read_text())
    with server.client(lpa_cert) as http:
        http.get("/openrsp/health", extensions={"sni_hostname": SMDP_HOST})
        http.post("/gsma/rsp2/es9plus/noSuchFunction", json={}, extensions={"sni_hostname": SMDP_HOST})
    lines = server.log.read_text()[since:].splitlines()
    health = r'INFO:     127\.0\.0\.1:\d+ - "GET /openrsp/health HTTP/1\.1" 200 OK'
    unknown = r'INFO:     127\.0\.0\.1:\d+ - "POST /gsma/rsp2/es9plus/noSuchFunction HTTP/1\.1" 404 Not Found'
    assert [line for line in lines if re.fullmatch(health, line)]
    assert [line for line in lines if re.fullmatch(unknown, line)]
