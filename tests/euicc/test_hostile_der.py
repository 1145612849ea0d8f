"""Malformed ES10 requests get the status word or ES10 result the spec gives, at once, never 6F00.

AuthenticateServer and PrepareDownload with one tag byte changed inside a list used to send the
DER decoder into an endless loop: the card never answered again. Requests with an alternative the
schema does not know, or a field of the wrong size, used to end in a Python exception answered 6F00.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rsp_harness import Download

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import iter_tlvs
from openrsp.lpa.drivers.es10_client import Es10TransportError

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "es10.txt"


def _sw(rig, request: bytes) -> int:
    with pytest.raises(Es10TransportError) as refused:
        rig.client.call(request)
    return refused.value.sw


def _card_still_answers(rig) -> None:
    challenge = rsp().decode("GetEuiccChallengeResponse", rig.client.call(bytes.fromhex("BF2E00")))
    assert len(challenge["euiccChallenge"]) == 16


def _first_child_of(der: bytes, tag: int) -> int:
    """Offset of the first element inside the first constructed TLV with this tag (depth first)."""

    def walk(data: bytes, base: int) -> int | None:
        for tlv in iter_tlvs(data):
            start = base + tlv.start + tlv.header_len
            if tlv.tag == tag and tlv.value:
                return start
            if tlv.constructed:
                found = walk(tlv.value, start)
                if found is not None:
                    return found
        return None

    found = walk(der, 0)
    assert found is not None
    return found


@pytest.mark.parametrize("new_tag", [0x31, 0x7F])
def test_authenticate_server_with_a_wrong_tag_in_a_certificate_list_is_refused_at_once(rig, new_tag):
    challenge = rsp().decode("GetEuiccChallengeResponse", rig.client.call(bytes.fromhex("BF2E00")))
    request = bytearray(rig.smdp.authenticate_server_request(challenge["euiccChallenge"], b"\x01" * 16))
    # CERT.DPauth's extensions: [3] { SEQUENCE OF Extension }; the first Extension gets another tag
    request[_first_child_of(bytes(request), 0xA3)] = new_tag
    assert _sw(rig, bytes(request)) == 0x6A80
    _card_still_answers(rig)


def test_prepare_download_with_a_wrong_tag_in_a_certificate_list_is_refused_at_once(rig):
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    request = bytearray(rig.smdp.prepare_download_request(download.transaction_id, download.euicc_signature1))
    request[_first_child_of(bytes(request), 0xA3)] = 0x31
    assert _sw(rig, bytes(request)) == 0x6A80
    _card_still_answers(rig)


def _corpus() -> list[tuple[str, bytes]]:
    cases, note = [], ""
    for line in CORPUS.read_text().splitlines():
        if line.startswith("#"):
            note = line.lstrip("# ")
        elif line.strip():
            cases.append((note, bytes.fromhex(line.strip())))
    return cases


@pytest.mark.parametrize(("note", "request_der"), _corpus(), ids=[n[:40] for n, _ in _corpus()])
def test_requests_that_once_hung_or_crashed_the_card_get_an_answer(rig, note, request_der):
    rig.client.call(bytes.fromhex("BF2E00"))  # a session open, as when an LPA sends them
    try:
        answer = rig.client.call(request_der)
    except Es10TransportError as refused:
        assert refused.sw == 0x6A80, note
    else:  # an ES10 result: the request decoded, and the card said what it makes of it
        assert request_der[:2] == b"\xbf\x38", note
        kind, _ = rsp().decode("AuthenticateServerResponse", answer)
        assert kind == "authenticateResponseError", note
    _card_still_answers(rig)


def test_a_malformed_certificate_gets_the_authenticate_error_code_not_6f00(rig):
    challenge = rsp().decode("GetEuiccChallengeResponse", rig.client.call(bytes.fromhex("BF2E00")))
    request = bytearray(rig.smdp.authenticate_server_request(challenge["euiccChallenge"], b"\x01" * 16))
    # the subjectPublicKeyInfo's algorithm OID (06 07 2A8648CE3D0201 id-ecPublicKey) made unknown
    at = bytes(request).index(bytes.fromhex("06072A8648CE3D0201"))
    request[at + 8] = 0x07
    kind, value = rsp().decode("AuthenticateServerResponse", rig.client.call(bytes(request)))
    assert kind == "authenticateResponseError"
    assert value["authenticateErrorCode"] in (1, 3)  # invalidCertificate / unsupportedCurve
    _card_still_answers(rig)
