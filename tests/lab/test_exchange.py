"""What the lab reads from an LPA's ES9+ requests is hostile input: garbage is recorded as such,
never raised; the facts verdicts rest on are decoded from real encodings. (And the words a command
LPA is given for a discovery step.)"""

from __future__ import annotations

import base64
import json

import pytest

from openrsp.asn1.codec import rsp
from openrsp.lab.duts import CommandDut
from openrsp.lab.exchange import Exchange, response_status, summarize_request
from openrsp.lab.model import Action, Step


def _json(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe not json",
        b"[1, 2, 3]",
        b" " * (2 << 20),
        _json(transactionId="00", authenticateServerResponse="!!!not base64!!!"),
        _json(authenticateServerResponse=base64.b64encode(b"\xbf\x38\x84\xff\xff\xff\xff").decode()),
        _json(pendingNotification=base64.b64encode(b"\x30\x03\x02\x01").decode()),
        _json(cancelSessionResponse=base64.b64encode(bytes(range(256)) * 4).decode()),
        _json(prepareDownloadResponse=12),
    ],
)
def test_garbage_is_recorded_not_raised(raw: bytes) -> None:
    for function in ("authenticateClient", "getBoundProfilePackage", "handleNotification", "cancelSession"):
        facts = summarize_request(function, raw)
        assert isinstance(facts, dict)
        assert facts  # says what it could not read


def test_cancel_session_reason_and_refusal_code_are_decoded() -> None:
    refused = rsp().encode(
        "AuthenticateServerResponse",
        ("authenticateResponseError", {"transactionId": bytes(16), "authenticateErrorCode": 2}),
    )
    facts = summarize_request(
        "authenticateClient",
        _json(transactionId="00" * 16, authenticateServerResponse=base64.b64encode(refused).decode()),
    )
    assert facts == {
        "transactionId": "00" * 16,
        "euicc": "refused",
        "authenticateErrorCode": "invalidSignature",
    }
    cancelled = rsp().encode("CancelSessionResponse", ("cancelSessionResponseError", 5))
    facts = summarize_request(
        "cancelSession", _json(cancelSessionResponse=base64.b64encode(cancelled).decode())
    )
    assert facts == {"euicc": "refused", "code": 5}


def test_response_status() -> None:
    failed = {"header": {"functionExecutionStatus": {"status": "Failed",
                                                     "statusCodeData": {"subjectCode": "8.2.6", "reasonCode": "3.8"}}}}  # fmt: skip
    assert response_status(200, json.dumps(failed).encode()) == "Failed 8.2.6/3.8"
    assert response_status(204, b"") == "HTTP 204"
    assert response_status(500, b"<html>") == "HTTP 500 (not ES9+ JSON)"


def test_smds_requests_are_recorded_with_their_event_and_address() -> None:
    assert summarize_request("deleteEvent", _json(eid="89" * 16, eventId="ABC-123")) == {"eventId": "ABC-123"}
    assert summarize_request("registerEvent", _json(eventId=["not", "text"])) == {}
    init = summarize_request("initiateAuthentication", _json(smdsAddress="127.0.0.1:8444"))
    assert init == {"smdsAddress": "127.0.0.1:8444"}
    row = Exchange(1, "smds", "initiateAuthentication", 0.5, init, "Executed-Success")
    assert "SM-DS initiateAuthentication(smdsAddress=127.0.0.1:8444) → Executed-Success" in row.line()
    assert "SM-DS" not in Exchange(2, "main", "initiateAuthentication", 0.6, {}, "Executed-Success").line()


def test_a_command_lpa_is_asked_to_discover_with_lpacs_verbs() -> None:
    dut = CommandDut("lpac {command}", {})
    assert dut.command_line(Step(Action.DISCOVER)) == ["lpac", "profile", "download", "--discover"]
    assert dut.cannot(Step(Action.DISCOVER)) is None
    plain = CommandDut("lpac profile download -a {activation_code}", {})
    assert plain.cannot(Step(Action.DISCOVER)) == "the command DUT cannot discover"
