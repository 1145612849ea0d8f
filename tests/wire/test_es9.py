"""The shared ES9+/ES11 JSON codec, alone: requests as the binding spells them, responses checked
before anything is trusted (base64, one TLV of the right tag, bounded transactionId and events)."""

from __future__ import annotations

import base64

import pytest

from openrsp.asn1.tlv import encode_tlv
from openrsp.wire import es9 as wire
from openrsp.wire.es9 import Es9WireError, EventEntry

TID = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def authenticate_client_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "transactionId": TID.hex().upper(),
        "profileMetadata": b64(encode_tlv(0xBF25, b"\x5a\x0a" + bytes(10))),
        "smdpSigned2": b64(encode_tlv(0x30, b"\x80\x01\x01")),
        "smdpSignature2": b64(encode_tlv(0x5F37, bytes(64))),
        "smdpCertificate": b64(encode_tlv(0x30, b"\x02\x01\x01")),
    }
    body.update(changes)
    return body


def test_requests_spell_the_binding_fields():
    assert wire.initiate_authentication_request(b"\x01" * 16, b"\xbf\x20\x00", "smdp.example") == {
        "euiccChallenge": b64(b"\x01" * 16),
        "euiccInfo1": "vyAA",
        "smdpAddress": "smdp.example",
    }
    assert "smdsAddress" in wire.initiate_authentication_request(b"", b"", "smds.example", es11=True)
    assert wire.authenticate_client_request(TID, b"\xbf\x38\x00")["transactionId"] == TID.hex().upper()
    assert wire.handle_notification_request(b"\xbf\x37\x00") == {"pendingNotification": "vzcA"}


def test_a_well_formed_answer_decodes_to_typed_values():
    result = wire.decode_authenticate_client("authenticateClient", authenticate_client_body(), TID)
    assert result.transaction_id == TID
    assert result.profile_metadata[:2] == b"\xbf\x25"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"transactionId": "00" * 17}, "1 to 16 bytes"),
        ({"transactionId": "0" * 100_000}, "1 to 16 bytes"),
        ({"transactionId": "zz"}, "not hex"),
        ({"transactionId": "AA"}, "not this session's"),
        ({"smdpSigned2": "***"}, "not base64"),
        ({"smdpSignature2": b64(encode_tlv(0x30, bytes(64)))}, "smdpSignature2"),
        ({"profileMetadata": b64(encode_tlv(0xBF25, b"") + b"\x00")}, "profileMetadata"),
        ({"smdpCertificate": None}, "smdpCertificate is missing"),
    ],
)
def test_a_malformed_answer_is_one_clear_error(changes, words):
    with pytest.raises(Es9WireError, match=words):
        wire.decode_authenticate_client("authenticateClient", authenticate_client_body(**changes), TID)


def test_the_header_status_is_read_without_trusting_its_shape():
    failed = {
        "header": {
            "functionExecutionStatus": {
                "status": "Failed",
                "statusCodeData": {"subjectCode": "8.1", "reasonCode": "3.8"},
            }
        }
    }
    status = wire.function_status(failed)
    assert (
        status is not None and status.failed and (status.subject_code, status.reason_code) == ("8.1", "3.8")
    )
    assert wire.function_status({"header": {"functionExecutionStatus": "Executed"}}) is None
    assert wire.function_status([1, 2]) is None


def test_event_lists_are_bounded_and_typed():
    body = {
        "transactionId": TID.hex(),
        "eventEntries": [{"eventId": "E1", "rspServerAddress": "smdp.example"}],
    }
    assert wire.decode_event_entries("authenticateClient", body, TID) == [EventEntry("E1", "smdp.example")]
    too_many = dict(body, eventEntries=[{"eventId": "E", "rspServerAddress": "a"}] * 1001)
    with pytest.raises(Es9WireError, match="at most 1000"):
        wire.decode_event_entries("authenticateClient", too_many, TID)
    with pytest.raises(Es9WireError, match="1 to 255"):
        wire.decode_event_entries(
            "authenticateClient", dict(body, eventEntries=[{"eventId": "", "rspServerAddress": "a"}]), TID
        )
