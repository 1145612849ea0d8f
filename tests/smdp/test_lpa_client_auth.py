"""LPA client certificates on ES9+: optional unless the operator asks for them, required when it does."""

import pytest
from smdp_support import start_server

pytestmark = pytest.mark.xdist_group("smdp-lpa-auth")

ES9 = "/gsma/rsp2/es9plus/initiateAuthentication"
HEADERS = {"X-Admin-Protocol": "gsma/rsp/v2.2.2", "Content-Type": "application/json"}


def _status(response):
    assert response.status_code == 200, response.text
    return response.json()["header"]["functionExecutionStatus"]


@pytest.fixture(scope="module")
def open_server(pki_dir, tmp_path_factory):
    server = start_server(pki_dir, tmp_path_factory.mktemp("lpa-auth-open") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_server(pki_dir, tmp_path_factory):
    ca = pki_dir / "lpa-tls" / "ca.cert.pem"
    server = start_server(pki_dir, tmp_path_factory.mktemp("lpa-auth-strict") / "data", "--lpa-ca", str(ca))
    yield server
    server.stop()


def test_without_lpa_auth_an_lpa_with_or_without_the_pki_client_cert_is_served(open_server, lpa_cert):
    # A malformed body: the point is that the request reaches ES9+ and gets an SGP.22 status back.
    for cert in (None, lpa_cert):
        status = _status(open_server.post(ES9, cert=cert, headers=HEADERS, content=b"{}"))
        assert status["status"] == "Failed"
        assert status["statusCodeData"]["subjectCode"] != ""


def test_with_lpa_auth_only_a_certified_lpa_reaches_es9(strict_server, lpa_cert):
    refused = _status(strict_server.post(ES9, headers=HEADERS, content=b"{}"))
    assert refused["status"] == "Failed"
    accepted = _status(strict_server.post(ES9, cert=lpa_cert, headers=HEADERS, content=b"{}"))
    assert accepted["status"] == "Failed"
    # Refused for the missing certificate, not for the body: the two answers differ.
    assert refused["statusCodeData"] != accepted["statusCodeData"]
