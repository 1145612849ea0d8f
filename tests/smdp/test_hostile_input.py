"""Hostile request content gets its SGP.22 code and one log line, never a traceback or a 4.2.

Deep JSON nesting, huge numbers, wrong JSON types, lone surrogates, out-of-range dates and counts
(ES2+), malformed certificates in an eUICC chain (ES9+). Against `openrsp smdp serve` on SQLite and
PostgreSQL (the log of the served process is read for tracebacks), and in-process for the
certificate variants.
"""

from __future__ import annotations

import json
from dataclasses import replace

import es9_harness
import pytest
from es9_harness import ES9_HEADERS, SoftEuicc, authenticate, b64, codes, initiate, ok
from smdp_support import ES_HEADERS, SMDP_HOST, Served, codes_of, es2_body, status_of

from openrsp.asn1.rsp_types import NotificationEvent

clock = es9_harness.clock
rig = es9_harness.rig
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package

pytest_served = pytest.mark.xdist_group("smdp-served")


def _raw_es2(**fields: object) -> bytes:
    """An ES2+ body as JSON text; `RAW` values are put in verbatim (escapes, nesting, huge numbers)."""
    text = json.dumps(es2_body(**{k: v for k, v in fields.items() if not isinstance(v, Raw)}))
    for name, value in fields.items():
        if isinstance(value, Raw):
            text = text[:-1] + f', "{name}": {value.text}}}'
    return text.encode()


class Raw:
    def __init__(self, text: str) -> None:
        self.text = text


DEEP = Raw("[" * 100_000 + "]" * 100_000)
HUGE_NUMBER = Raw("9" * 100_000)


def _new_log(served: Served, since: int) -> str:
    return served.server.log.read_text()[since:]


@pytest_served
def test_hostile_es2_fields_get_their_code_and_no_traceback(served: Served, operator_cert):
    server = served.server
    iccid = served.mine[10]
    since = len(server.log.read_text())

    def es2(function: str, body: bytes):
        headers = {**ES_HEADERS, "Content-Type": "application/json"}
        return server.post(
            f"/gsma/rsp2/es2plus/{function}", cert=operator_cert, content=body, headers=headers
        )

    assert status_of(es2("downloadOrder", _raw_es2(iccid=iccid)))["status"] == "Executed-Success"
    cases = [
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, expiresAt="9999-12-31T23:59:59-14:00"),
            ("8.8.5", "2.1"),
        ),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, expiresAt="0001-01-01T00:00:00+14:00"),
            ("8.8.5", "2.1"),
        ),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, maxConfirmationCodeAttempts=2**63),
            ("1.3.1", "2.1"),
        ),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, maxConfirmationCodeAttempts=2**31),
            ("1.3.1", "2.1"),
        ),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, confirmationCode=Raw('"\\ud800"')),
            ("8.2.7", "2.1"),
        ),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, confirmationCode=Raw('"12\\udfff"')),
            ("8.2.7", "2.1"),
        ),
        ("confirmOrder", _raw_es2(iccid=iccid, releaseFlag={"yes": 1}), ("1.6", "2.1")),
        ("confirmOrder", _raw_es2(iccid=iccid, releaseFlag=True, eid=Raw("[1]")), ("8.1.1", "2.1")),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, smdsAddress="s" * 300, eid="8" * 32),
            ("8.9.1", "2.1"),
        ),
        (
            "confirmOrder",
            _raw_es2(iccid=iccid, releaseFlag=True, maxConfirmationCodeAttempts=HUGE_NUMBER),
            ("1.3.1", "2.1"),
        ),
        ("confirmOrder", _raw_es2(iccid=iccid, releaseFlag=True, matchingId=DEEP), ("1.3.1", "2.1")),
        ("downloadOrder", _raw_es2(profileType=Raw('"\\ud800"')), ("8.2.5", "2.1")),
        ("downloadOrder", _raw_es2(profileType="t" * 1000), ("8.2.5", "2.1")),
        ("cancelOrder", _raw_es2(iccid=iccid, finalProfileStatusIndicator=Raw("NaN")), ("8.2.1", "2.1")),
        ("profileStatus", _raw_es2(iccid=Raw("1e999")), ("8.2.1", "2.1")),
    ]
    for function, body, expected in cases:
        path = "/openrsp/es2plus/profileStatus" if function == "profileStatus" else None
        if path:
            headers = {**ES_HEADERS, "Content-Type": "application/json"}
            response = server.post(path, cert=operator_cert, content=body, headers=headers)
        else:
            response = es2(function, body)
        assert response.status_code == 200
        assert codes_of(response) == expected, (function, body[:120])
    # Nothing was half-done: the order is still waiting for a (good) confirmOrder.
    good = es2("confirmOrder", _raw_es2(iccid=iccid, releaseFlag=True, maxConfirmationCodeAttempts=5))
    assert status_of(good)["status"] == "Executed-Success"
    log = _new_log(served, since)
    assert "Traceback" not in log and "/4.2" not in log
    assert sum("ES2+" in line and "refused: " in line for line in log.splitlines()) == len(cases)


@pytest_served
def test_hostile_es9_bodies_get_their_code_and_no_traceback(served: Served, lpa_cert, pki_dir):
    server = served.server
    since = len(server.log.read_text())
    headers = {**ES9_HEADERS, "Content-Type": "application/json"}
    bodies = [
        b'{"euiccChallenge": ' + DEEP.text.encode() + b"}",
        b'{"euiccChallenge": "AA==", "euiccInfo1": ' + HUGE_NUMBER.text.encode() + b', "smdpAddress": "x"}',
        b'{"euiccChallenge": 5, "euiccInfo1": "AA==", "smdpAddress": "x"}',
        b'{"euiccChallenge": "\\ud800", "euiccInfo1": "\\udfff", "smdpAddress": "\\ud800"}',
        b"[" * 50_000,
    ]
    with server.client(lpa_cert) as http:
        for body in bodies:
            response = http.post(
                "/gsma/rsp2/es9plus/initiateAuthentication",
                content=body,
                headers=headers,
                extensions={"sni_hostname": SMDP_HOST},
            )
            assert response.status_code == 200
            assert codes_of(response) == ("1.3.1", "2.1"), body[:80]
        # Well-formed up to an SM-DP+ address that is no text: refused as another SM-DP+'s, and the
        # answer (which names the address) is still valid JSON.
        euicc = SoftEuicc.load(pki_dir, "nist")
        fields = f'"euiccChallenge": "{b64(euicc.get_challenge())}", "euiccInfo1": "{b64(euicc.info1())}"'
        response = http.post(
            "/gsma/rsp2/es9plus/initiateAuthentication",
            content=("{" + fields + ', "smdpAddress": "smdp\\ud800"}').encode(),
            headers=headers,
            extensions={"sni_hostname": SMDP_HOST},
        )
        assert codes_of(response) == ("8.8.1", "3.8")
    log = _new_log(served, since)
    assert "Traceback" not in log
    assert sum("refused: 1.3.1/2.1" in line for line in log.splitlines()) == len(bodies)
    assert sum("refused: 8.8.1/3.8" in line for line in log.splitlines()) == 1


# -- malformed certificates in the eUICC's chain ---------------------------------------------------------


def _duplicate_extension(cert: bytes) -> bytes:
    """The certificate with its authorityKeyIdentifier turned into a second subjectKeyIdentifier:
    still DER, but two extensions of one kind, which X.509 forbids."""
    aki, ski = bytes.fromhex("0603551d23"), bytes.fromhex("0603551d0e")
    assert cert.count(aki) == 1 and cert.count(ski) == 1
    return cert.replace(aki, ski)


def _mutations(cert: bytes) -> list[bytes]:
    """Every byte of the certificate changed once (0x00 → 0x7F, else x ^ 0x80): lengths, tags, OIDs,
    names, the key, the signature."""
    return [cert[:i] + bytes([0x7F if b == 0 else b ^ 0x80]) + cert[i + 1 :] for i, b in enumerate(cert)]


def test_malformed_certificates_in_authenticate_client_get_their_code(rig):
    iccid, matching_id = rig.released_profile()
    for field, expected in (("eum_certificate", ("8.1.2", "6.1")), ("certificate", ("8.1.3", "6.1"))):
        card = replace(rig.euicc, **{field: _duplicate_extension(getattr(rig.euicc, field))})
        init = ok(initiate(rig.call, card, rig.address))
        assert codes(authenticate(rig.call, card, init, matching_id)) == expected
    assert rig.state(iccid) == "Released"


def test_every_one_byte_change_of_a_notifications_certificates_is_acknowledged_and_not_recorded(rig, caplog):
    """handleNotification needs no session: anyone can send one. Whatever is wrong with the chain,
    the answer is the 204 and nothing is stored; no exception gets out of the service."""
    euicc = rig.euicc
    variants = [replace(euicc, eum_certificate=m) for m in _mutations(euicc.eum_certificate)]
    variants += [replace(euicc, certificate=m) for m in _mutations(euicc.certificate)]
    variants += [replace(euicc, eum_certificate=_duplicate_extension(euicc.eum_certificate))]
    for card in variants:
        note = card.other_notification(NotificationEvent.DELETE, "8949449999999990023", rig.address)
        try:
            answer = rig.call("handleNotification", {"pendingNotification": b64(note)})
        except Exception as exc:  # anything but an SGP.22 answer is a bug
            pytest.fail(f"{type(exc).__name__}: {exc}")
        if answer["header"]["functionExecutionStatus"]["status"] == "Failed":
            assert codes(answer) == ("1.3.1", "2.1")  # the change broke the DER of the notification
    # A change may leave a certificate valid (a byte of a name the chain does not check, say):
    # then the notification verifies and is recorded, once: same EID, same sequence number.
    assert len(rig.notifications()) <= 1
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
