"""The ES9+/ES2+ JSON framing: malformed requests get an HTTP 200 with a Failed status, never a 500."""

from __future__ import annotations

import json

import pytest
from smdp_support import ES_HEADERS, codes_of, es2_body, start_server
from starlette.testclient import TestClient

from openrsp.smdp import es9plus
from openrsp.smdp.config import load_config
from openrsp.smdp.context import build_context
from openrsp.smdp.http.app import create_app

INITIATE = "/gsma/rsp2/es9plus/initiateAuthentication"
VALID_INITIATE = {"euiccChallenge": "AAAAAAAAAAAAAAAAAAAAAA==", "euiccInfo1": "vyAA", "smdpAddress": "x"}
FRAMING_SUBJECTS = {"1.1", "1.3.1", "1.3.2"}


@pytest.fixture(scope="module")
def server(pki_dir, tmp_path_factory):
    """An SM-DP+ that wants LPA client certificates from the `pki init` LPA CA."""
    base = tmp_path_factory.mktemp("framing")
    served = start_server(pki_dir, base / "data", "--lpa-ca", str(pki_dir / "lpa-tls" / "ca.cert.pem"))
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def lpa_cert(pki_dir):
    return pki_dir / "lpa-tls" / "client.cert.pem", pki_dir / "lpa-tls" / "client.key.pem"


def post(server, path, cert, *, body: bytes | str, headers: dict):
    response = server.post(path, cert=cert, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    return response


JSON = {"Content-Type": "application/json", **ES_HEADERS}


def test_malformed_json_is_a_failed_status(server, lpa_cert):
    assert codes_of(post(server, INITIATE, lpa_cert, body="{not json", headers=JSON)) == ("1.3.1", "2.1")
    assert codes_of(post(server, INITIATE, lpa_cert, body=b"\xff\xfe", headers=JSON)) == ("1.3.1", "2.1")
    assert codes_of(post(server, INITIATE, lpa_cert, body="[1, 2]", headers=JSON)) == ("1.3.1", "2.1")


def test_wrong_content_type_is_a_failed_status(server, lpa_cert):
    headers = {"Content-Type": "text/plain", **ES_HEADERS}
    response = post(server, INITIATE, lpa_cert, body=json.dumps(VALID_INITIATE), headers=headers)
    assert codes_of(response) == ("1.3.1", "2.1")
    assert "Content-Type" in response.json()["header"]["functionExecutionStatus"]["statusCodeData"]["message"]


def test_the_admin_protocol_header_is_required(server, lpa_cert):
    body = json.dumps(VALID_INITIATE)
    response = post(server, INITIATE, lpa_cert, body=body, headers={"Content-Type": "application/json"})
    assert codes_of(response) == ("1.3.2", "2.2")
    headers = {"Content-Type": "application/json", "X-Admin-Protocol": "gsma/rsp/v3.0.0"}
    assert codes_of(post(server, INITIATE, lpa_cert, body=body, headers=headers)) == ("1.3.2", "3.1")


def test_missing_fields_are_named(server, lpa_cert):
    body = {k: v for k, v in VALID_INITIATE.items() if k != "euiccInfo1"}
    response = post(server, INITIATE, lpa_cert, body=json.dumps(body), headers=JSON)
    assert codes_of(response) == ("1.3.1", "2.2")
    assert "euiccInfo1" in response.json()["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
    wrong = post(
        server, "/gsma/rsp2/es9plus/cancelSession", lpa_cert, body='{"transactionId": 5}', headers=JSON
    )
    assert codes_of(wrong) == ("1.3.1", "2.1")


def test_a_well_framed_request_reaches_the_es9_function(server, lpa_cert):
    response = post(server, INITIATE, lpa_cert, body=json.dumps(VALID_INITIATE), headers=JSON)
    status = response.json()["header"]["functionExecutionStatus"]
    assert status.get("statusCodeData", {}).get("subjectCode") not in FRAMING_SUBJECTS


def test_without_an_lpa_certificate_es9_is_refused(server):
    response = post(server, INITIATE, None, body=json.dumps(VALID_INITIATE), headers=JSON)
    assert codes_of(response) == ("1.1", "1.1")


def test_an_lpa_certificate_does_not_open_es2(server, lpa_cert):
    response = server.post(
        "/gsma/rsp2/es2plus/downloadOrder",
        cert=lpa_cert,
        json=es2_body(iccid="8900000000000000001"),
        headers=ES_HEADERS,
    )
    assert codes_of(response) == ("1.1", "1.2")


def test_unknown_functions_and_methods(server, lpa_cert):
    response = server.post("/gsma/rsp2/es9plus/stealProfile", cert=lpa_cert, json={}, headers=ES_HEADERS)
    assert response.status_code == 404 and codes_of(response) == ("1.6", "3.9")
    with server.client(lpa_cert) as http:
        assert http.get(INITIATE, extensions={"sni_hostname": "smdp.openrsp.test"}).status_code == 405


# -- the framing around the ES9+ functions, with stand-in functions -------------------------------------


class StandIn:
    """Replaces the ES9+ functions to see what the HTTP layer makes of their answers."""

    def __init__(self, context) -> None:
        self.context = context

    def initiateAuthentication(self, body):  # noqa: N802
        return {"transactionId": "00FF", "echo": body["smdpAddress"]}

    def handleNotification(self, body):  # noqa: N802
        return {}

    def cancelSession(self, body):  # noqa: N802
        raise KeyError("a bug in the function")

    def authenticateClient(self, body):  # noqa: N802
        raise es9plus.Es9Error("8.10.1", "3.9", "unknown transaction")


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setattr(es9plus, "Es9Service", StandIn)
    context = build_context(load_config(data_dir=tmp_path, address="smdp.example"))
    with TestClient(create_app(context), raise_server_exceptions=False) as test_client:
        yield test_client


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
