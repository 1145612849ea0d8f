"""Hostile DER against a real `openrsp smdp serve` over HTTPS, as an attacker would send it.

One changed tag byte inside a list used to send asn1tools' DER decoder into an endless loop that froze
the whole server (health stopped answering, memory grew until the process died). Now each such
request gets its ES9+ Failed answer with the SGP.22 code, at once, and the server goes on serving:
health answers, and a normal request after it still works.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from es9_harness import ES9_HEADERS, SoftEuicc, b64, codes, ok, over_https
from smdp_support import ES_HEADERS, SMDP_HOST, Served, es2_body

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import iter_tlvs, read_tlv

pytestmark = pytest.mark.xdist_group("smdp-served")  # one server pair for all these tests

# A hang must not pass as a slow answer: the client gives up well before a test would time out.
CLIENT_TIMEOUT = 10.0
INVALID_INPUT = ("1.3.1", "2.1")
INVALID_EUICC_CERT = ("8.1.3", "6.1")  # what SGP.22 gives for an eUICC certificate that does not parse


def _client(served: Served, lpa_cert: tuple[Path, Path]) -> httpx.Client:
    client = served.server.client(lpa_cert)
    client.timeout = httpx.Timeout(CLIENT_TIMEOUT)
    return client


def _health_answers(served: Served) -> None:
    with served.server.client() as http:
        answer = http.get("/openrsp/health", extensions={"sni_hostname": SMDP_HOST}, timeout=CLIENT_TIMEOUT)
    assert answer.status_code == 200


def _change_list_tag(der: bytes, list_tag: int, new_tag: int) -> bytes:
    """der with the first element of the list TLV `list_tag` (at any depth) given another tag byte."""
    position = _find(der, list_tag)
    assert position is not None, f"no {list_tag:X} in {der.hex()}"
    changed = bytearray(der)
    changed[position] = new_tag
    return bytes(changed)


def _find(der: bytes, list_tag: int, base: int = 0) -> int | None:
    """Offset of the first child of the first constructed TLV with this tag (depth first)."""
    for tlv in iter_tlvs(der):
        start = base + tlv.start
        if tlv.tag == list_tag and tlv.value:
            return start + tlv.header_len
        if tlv.constructed:
            found = _find(tlv.value, list_tag, start + tlv.header_len)
            if found is not None:
                return found
    return None


def _initiate(call, euicc: SoftEuicc, info1: bytes) -> dict:
    return call(
        "initiateAuthentication",
        {"euiccChallenge": b64(euicc.get_challenge()), "euiccInfo1": b64(info1), "smdpAddress": SMDP_HOST},
    )


@pytest.mark.parametrize("new_tag", [0x7F, 0x05])
def test_mutated_euiccinfo1_gets_a_failed_answer_and_health_keeps_answering(
    served, lpa_cert, pki_dir, new_tag
):
    euicc = SoftEuicc.load(pki_dir, "nist")
    # euiccCiPKIdListForVerification is A9: its first SubjectKeyIdentifier tag 04 becomes 7F (a tag
    # that is not even DER) or 05 (well-formed, the wrong type: only the decoder can tell).
    info1 = _change_list_tag(euicc.info1(), 0xA9, new_tag)
    with _client(served, lpa_cert) as http:
        call = over_https(http, SMDP_HOST)
        assert codes(_initiate(call, euicc, info1)) == INVALID_INPUT
        _health_answers(served)
        assert ok(_initiate(call, euicc, euicc.info1()))["transactionId"]  # and it still serves


def _authenticated(call, euicc: SoftEuicc, matching_id: str | None) -> tuple[dict, bytes]:
    init = ok(_initiate(call, euicc, euicc.info1()))
    return init, euicc.authenticate_server(init, matching_id)


def test_mutated_euiccinfo2_in_authenticate_client_gets_a_failed_answer(served, lpa_cert, pki_dir):
    euicc = SoftEuicc.load(pki_dir, "nist")
    with _client(served, lpa_cert) as http:
        call = over_https(http, SMDP_HOST)
        init, response = _authenticated(call, euicc, None)
        # EUICCInfo2 (BF22) inside euiccSigned1: its euiccCiPKIdListForVerification (A9) element tag
        assert _find(response, 0xBF22) is not None
        mutated = _change_list_tag(response, 0xA9, 0x05)  # the first A9 is the one in euiccInfo2
        answer = call(
            "authenticateClient",
            {"transactionId": init["transactionId"], "authenticateServerResponse": b64(mutated)},
        )
        assert codes(answer) == INVALID_INPUT
        _health_answers(served)


@pytest.mark.parametrize("new_tag", [0x7F, 0x31])
def test_mutated_authenticate_server_response_gets_a_failed_answer(served, lpa_cert, pki_dir, new_tag):
    euicc = SoftEuicc.load(pki_dir, "nist")
    with _client(served, lpa_cert) as http:
        call = over_https(http, SMDP_HOST)
        init, response = _authenticated(call, euicc, None)
        # the eUICC certificate's extensions (A3 { SEQUENCE OF Extension }): first Extension's tag
        mutated = _change_list_tag(response, 0xA3, new_tag)
        answer = call(
            "authenticateClient",
            {"transactionId": init["transactionId"], "authenticateServerResponse": b64(mutated)},
        )
        assert codes(answer) == INVALID_EUICC_CERT
        _health_answers(served)


def _released(served: Served, operator_cert, iccid: str) -> str:
    for function, fields in (
        ("downloadOrder", {"iccid": iccid}),
        ("confirmOrder", {"iccid": iccid, "releaseFlag": True}),
    ):
        answer = served.server.post(
            f"/gsma/rsp2/es2plus/{function}", cert=operator_cert, json=es2_body(**fields), headers=ES_HEADERS
        )
        assert answer.json()["header"]["functionExecutionStatus"]["status"] == "Executed-Success", answer.text
    return answer.json()["matchingId"]


def test_mutated_prepare_download_response_and_notification_get_failed_answers(
    served, lpa_cert, operator_cert, pki_dir
):
    euicc = SoftEuicc.load(pki_dir, "nist")
    # this test's own profile (other tests of the shared server use the first ones)
    matching_id = _released(served, operator_cert, served.mine[12])
    with _client(served, lpa_cert) as http:
        call = over_https(http, SMDP_HOST)
        init, response = _authenticated(call, euicc, matching_id)
        auth = ok(
            call(
                "authenticateClient",
                {"transactionId": init["transactionId"], "authenticateServerResponse": b64(response)},
            )
        )
        prepared = euicc.prepare_download(auth)
        # euiccSigned2's transactionId tag (80) becomes 7F: not DER at all
        outer = read_tlv(prepared)
        ok_tlv = read_tlv(outer.value)
        index = outer.header_len + ok_tlv.header_len + read_tlv(ok_tlv.value).header_len
        assert prepared[index] == 0x80
        mutated = prepared[:index] + b"\x7f" + prepared[index + 1 :]
        answer = call(
            "getBoundProfilePackage",
            {"transactionId": init["transactionId"], "prepareDownloadResponse": b64(mutated)},
        )
        assert codes(answer) == INVALID_INPUT
        _health_answers(served)

        # A notification whose certificate list element has the wrong tag
        result = euicc.other_notification(1, served.mine[12], SMDP_HOST)
        bad = _change_list_tag(result, 0xA3, 0x31)
        response = http.post(
            "/gsma/rsp2/es9plus/handleNotification",
            json={"pendingNotification": b64(bad)},
            headers=ES9_HEADERS,
            extensions={"sni_hostname": SMDP_HOST},
        )
        assert response.status_code == 200 and codes(response.json()) == INVALID_EUICC_CERT
        _health_answers(served)


def test_unchanged_requests_still_work_after_the_hostile_ones(served, lpa_cert, pki_dir):
    euicc = SoftEuicc.load(pki_dir, "nist")
    with _client(served, lpa_cert) as http:
        call = over_https(http, SMDP_HOST)
        init = ok(_initiate(call, euicc, euicc.info1()))
        signed1 = rsp().decode("ServerSigned1", base64.b64decode(init["serverSigned1"]))
        assert signed1["euiccChallenge"] == euicc.challenge
