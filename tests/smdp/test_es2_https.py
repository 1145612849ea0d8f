"""ES2+ through the real HTTPS server, with real TLS client certificates, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import httpx
import pytest
import zxingcpp
from PIL import Image
from smdp_support import (
    ES_HEADERS,
    SMDP_HOST,
    Served,
    codes_of,
    es2_body,
    issue_client_cert,
    self_signed_ca,
    status_of,
)

EID = "89049032123451234512345678901235"
pytestmark = pytest.mark.xdist_group("smdp-served")  # one server pair for all these tests


def es2(served: Served, function: str, cert, **fields) -> httpx.Response:
    response = served.server.post(
        f"/gsma/rsp2/es2plus/{function}", cert=cert, json=es2_body(**fields), headers=ES_HEADERS
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-admin-protocol"].startswith("gsma/rsp/v2.")
    return response


def ok(response: httpx.Response) -> dict:
    assert status_of(response) == {"status": "Executed-Success"}, response.text
    return {k: v for k, v in response.json().items() if k != "header"}


def test_order_confirm_status_cancel(served, operator_cert):
    iccid = served.mine[0]
    assert ok(es2(served, "downloadOrder", operator_cert, iccid=iccid, eid=EID)) == {"iccid": iccid}
    confirmed = ok(
        es2(served, "confirmOrder", operator_cert, iccid=iccid, confirmationCode="4711", releaseFlag=True)
    )
    assert confirmed["eid"] == EID and confirmed["smdpAddress"] == SMDP_HOST and confirmed["matchingId"]
    status = ok(
        served.server.post(
            "/openrsp/es2plus/profileStatus",
            cert=operator_cert,
            json=es2_body(iccid=iccid),
            headers=ES_HEADERS,
        )
    )
    assert (status["state"], status["eid"], status["matchingId"], status["ccRequired"]) == (
        "Released",
        EID,
        confirmed["matchingId"],
        True,
    )
    assert (
        ok(
            es2(
                served,
                "cancelOrder",
                operator_cert,
                iccid=iccid,
                eid=EID,
                finalProfileStatusIndicator="Available",
            )
        )
        == {}
    )
    assert codes_of(es2(served, "releaseProfile", operator_cert, iccid=iccid)) == ("8.2.1", "3.5")


def test_error_codes_come_back_as_failed_status(served, operator_cert):
    assert codes_of(es2(served, "downloadOrder", operator_cert, iccid="8900000000000000000")) == (
        "8.2.1",
        "3.9",
    )
    assert codes_of(es2(served, "downloadOrder", operator_cert, profileType="nothing")) == ("8.2.5", "3.9")
    assert codes_of(es2(served, "confirmOrder", operator_cert, iccid=served.mine[1])) == ("1.6", "2.2")
    failed = status_of(es2(served, "downloadOrder", operator_cert, iccid="8900000000000000000"))
    assert "unknown" in failed["statusCodeData"]["message"]


def test_an_operator_sees_only_its_own_profiles(served, operator_cert):
    theirs = served.theirs[0]
    assert codes_of(es2(served, "downloadOrder", operator_cert, iccid=theirs)) == ("8.2.1", "1.2")
    assert ok(es2(served, "downloadOrder", served.op_b, iccid=theirs)) == {"iccid": theirs}
    assert codes_of(es2(served, "confirmOrder", served.op_b, iccid=served.mine[2], releaseFlag=True)) == (
        "8.2.1",
        "1.2",
    )
    by_type = ok(es2(served, "downloadOrder", served.op_b, profileType="GSMA Generic eUICC Test Profile"))
    assert by_type["iccid"] in served.theirs  # ordering by type only ever picks the caller's profiles


def test_no_client_certificate_is_refused(served):
    response = served.server.post(
        "/gsma/rsp2/es2plus/downloadOrder", json=es2_body(iccid=served.mine[3]), headers=ES_HEADERS
    )
    assert response.status_code == 200 and codes_of(response) == ("1.1", "1.1")


def test_a_certificate_from_an_unknown_ca_is_refused_at_tls(served, tmp_path):
    ca, ca_key = self_signed_ca(tmp_path / "rogue", "Rogue CA")
    rogue = issue_client_cert(ca, ca_key, "default", tmp_path / "rogue")  # same CN as a real operator
    with pytest.raises(httpx.HTTPError):
        response = served.server.post(
            "/gsma/rsp2/es2plus/downloadOrder",
            cert=rogue,
            json=es2_body(iccid=served.mine[3]),
            headers=ES_HEADERS,
        )
        raise AssertionError(f"answered {response.status_code}: {response.text}")


def test_a_request_without_the_es2_header_is_refused(served, operator_cert):
    response = served.server.post(
        "/gsma/rsp2/es2plus/downloadOrder",
        cert=operator_cert,
        json={"iccid": served.mine[3]},
        headers=ES_HEADERS,
    )
    assert codes_of(response) == ("1.3.1", "2.2")


@pytest.mark.parametrize("served", ["sqlite"], indirect=True)  # the command is the same on any database
def test_the_operator_command_prints_the_activation_code_and_qr(
    served, operator_cert, pki_dir, cli, tmp_path
):
    iccid = served.mine[4]
    base = [
        "operator", "--smdp", served.server.url, "--ca", str(pki_dir / "nist" / "ci.cert.pem"),
        "--tls-name", SMDP_HOST, "--client-cert", str(operator_cert[0]), "--client-key", str(operator_cert[1]),
    ]  # fmt: skip
    assert cli(*base, "order", "--iccid", iccid, check=True).stdout.strip() == iccid
    qr = tmp_path / "ac.png"
    result = cli(
        *base, "--json", "confirm", "--iccid", iccid, "--matching-id", "OPER-1", "--qr", str(qr), check=True
    )
    answer = json.loads(result.stdout)
    assert answer["activation_code"] == f"LPA:1${SMDP_HOST}$OPER-1" and answer["matching_id"] == "OPER-1"
    (decoded,) = zxingcpp.read_barcodes(Image.open(qr))
    assert decoded.text == answer["activation_code"]
    failed = cli(*base, "release", "--iccid", iccid)
    assert failed.returncode == 1
    assert (
        "8.2.1/3.5" in failed.stderr
        and "Invalid Transition" in failed.stderr
        and "Traceback" not in failed.stderr
    )
