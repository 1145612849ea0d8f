"""The ES9+/ES2+ JSON framing over HTTPS: malformed requests get an HTTP 200 with a Failed status."""

from __future__ import annotations

import json

import pytest
from smdp_support import ES_HEADERS, codes_of, es2_body

INITIATE = "/gsma/rsp2/es9plus/initiateAuthentication"
pytestmark = [
    pytest.mark.xdist_group("smdp-served"),
    pytest.mark.parametrize("served", ["sqlite"], indirect=True),  # framing does not touch the database
]
VALID_INITIATE = {"euiccChallenge": "AAAAAAAAAAAAAAAAAAAAAA==", "euiccInfo1": "vyAA", "smdpAddress": "x"}


@pytest.fixture
def server(served):
    """The shared SM-DP+ (it wants LPA client certificates from the `pki init` LPA CA)."""
    return served.server


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
    framing_messages = {
        "request body is not valid JSON",
        "request body must be a JSON object",
        "Content-Type must be application/json",
        "X-Admin-Protocol header is missing",
        "a client certificate from the LPA CA is required",
        *(f"{name} is missing" for name in VALID_INITIATE),
        *(f"{name} must be a string" for name in VALID_INITIATE),
    }
    assert status.get("statusCodeData", {}).get("message") not in framing_messages


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
