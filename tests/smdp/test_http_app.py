"""The HTTP layer around the ES9+ functions, in process, with stand-in functions."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import anyio
import httpx
import pytest
from smdp_support import ES_HEADERS, codes_of
from sqlalchemy.engine import make_url

from openrsp.smdp.config import load_config
from openrsp.smdp.context import build_context
from openrsp.smdp.db import transactions
from openrsp.smdp.es9 import service as es9plus
from openrsp.smdp.http.app import create_app

INITIATE = "/gsma/rsp2/es9plus/initiateAuthentication"
VALID_INITIATE = {"euiccChallenge": "AAAAAAAAAAAAAAAAAAAAAA==", "euiccInfo1": "vyAA", "smdpAddress": "x"}
JSON = {"Content-Type": "application/json", **ES_HEADERS}


class StandIn:
    """Replaces the ES9+ functions to see what the HTTP layer makes of their answers."""

    def __init__(self, context, store=None) -> None:
        self.context = context

    def initiateAuthentication(self, body):
        return {"transactionId": "00FF", "echo": body["smdpAddress"]}

    def handleNotification(self, body):
        return {}

    def cancelSession(self, body):
        raise KeyError("a bug in the function")

    def authenticateClient(self, body):
        raise es9plus.Es9Error("8.10.1", "3.9", "unknown transaction")


class InProcess:
    """Requests straight into the ASGI app (no TLS, no server process)."""

    def __init__(self, app) -> None:
        self.app = app

    def post(self, path: str, **kwargs) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="https://smdp.example") as http:
                return await http.post(path, **kwargs)

        return anyio.run(send)


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setattr(es9plus, "Es9Service", StandIn)
    context = build_context(load_config(data_dir=tmp_path, address="smdp.example"))
    try:
        yield InProcess(create_app(context))
    finally:
        context.close()


def test_success_has_the_sgp22_header_and_the_fields(client):
    response = client.post(INITIATE, content=json.dumps(VALID_INITIATE), headers=JSON)
    assert response.status_code == 200
    assert response.json() == {
        "header": {"functionExecutionStatus": {"status": "Executed-Success"}},
        "transactionId": "00FF",
        "echo": "x",
    }
    assert response.headers["x-admin-protocol"].startswith("gsma/rsp/v2.")


def test_handle_notification_answers_204_without_a_body(client):
    response = client.post(
        "/gsma/rsp2/es9plus/handleNotification", content='{"pendingNotification": "vzcA"}', headers=JSON
    )
    assert response.status_code == 204 and response.content == b""


def test_an_es9_error_becomes_its_status_code(client):
    body = '{"transactionId": "00", "authenticateServerResponse": "AA=="}'
    response = client.post("/gsma/rsp2/es9plus/authenticateClient", content=body, headers=JSON)
    assert response.status_code == 200 and codes_of(response) == ("8.10.1", "3.9")


def test_an_unexpected_exception_is_a_failed_status_not_a_500(client):
    body = '{"transactionId": "00", "cancelSessionResponse": "AA=="}'
    response = client.post("/gsma/rsp2/es9plus/cancelSession", content=body, headers=JSON)
    assert response.status_code == 200 and codes_of(response) == ("1.2", "4.2")
    assert "bug" not in response.text and "Traceback" not in response.text


def test_es2_is_closed_without_an_operator_ca(client):
    body = json.dumps(
        {"header": {"functionRequesterIdentifier": "a", "functionCallIdentifier": "1"}, "iccid": "1"}
    )
    response = client.post("/gsma/rsp2/es2plus/downloadOrder", content=body, headers=JSON)
    assert codes_of(response) == ("1.1", "1.1")
    assert (
        "no operator CA" in response.json()["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
    )


class Writing:
    """An ES9+ function that writes one transaction, and says where it ran: on the event loop's
    SQLite connection (it is given that store) or in the database's thread pool (no store)."""

    ran: list[str] = []

    def __init__(self, context, store=None) -> None:
        self.context, self.store = context, store

    def initiateAuthentication(self, body):
        if self.store is None:
            Writing.ran.append("pool")
            return {"transactionId": "00FF"}
        with self.store.transaction():
            pass
        Writing.ran.append("loop")
        return {"transactionId": "00FF"}


@pytest.fixture
def sole_writer(tmp_path, monkeypatch):
    """The app of a single-worker server on SQLite (its ES9+ calls run on the loop's connection),
    and the database file, open to another connection."""
    monkeypatch.setattr(es9plus, "Es9Service", Writing)
    Writing.ran = []
    config = load_config(data_dir=tmp_path, address="smdp.example")
    transactions.sole_writer_process(config.db_url)
    context = build_context(config)
    app = create_app(context)
    other = sqlite3.connect(make_url(config.db_url).database, isolation_level=None, check_same_thread=False)
    try:
        yield InProcess(app), other
    finally:
        other.close()
        context.close()


def _locked_for(other: sqlite3.Connection, seconds: float) -> threading.Thread:
    other.execute("BEGIN IMMEDIATE")
    release = threading.Thread(target=lambda: (time.sleep(seconds), other.rollback()))
    release.start()
    return release


def test_a_call_that_meets_a_brief_lock_waits_for_it_on_the_loop(sole_writer):
    """Another connection's short write (an ES2+ call, an outbox record) is waited out on the loop:
    sent to the thread pool at once, the call would hold the lock there, with its fsync, and send
    the calls after it to the pool too."""
    client, other = sole_writer
    release = _locked_for(other, 0.01)
    response = client.post(INITIATE, content=json.dumps(VALID_INITIATE), headers=JSON)
    release.join()
    assert response.status_code == 200 and response.json()["transactionId"] == "00FF"
    assert Writing.ran == ["loop"]


def test_a_call_that_meets_a_long_lock_goes_to_the_thread_pool(sole_writer):
    client, other = sole_writer
    release = _locked_for(other, 1.0)
    response = client.post(INITIATE, content=json.dumps(VALID_INITIATE), headers=JSON)
    release.join()
    assert response.status_code == 200 and Writing.ran == ["pool"]
