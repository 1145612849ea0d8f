"""The LPA reading hostile profile metadata and hostile card answers: a clear error, never a hang.

The SM-DP+ hands the LPA StoreMetadata (profileMetadata) to show on the consent screen; one changed
tag byte in its notificationConfigurationInfo list used to send the decoder into an endless loop.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import pytest

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import bit_string, iccid_to_bytes
from openrsp.lpa.core.errors import Es10FormatError, LpaError
from openrsp.lpa.core.es10 import Es10, decode_profile_metadata


class _NoAnswer(BaseException):
    pass


@contextlib.contextmanager
def answers_within(seconds: float) -> Iterator[None]:
    def expired(_signum, _frame):
        raise _NoAnswer

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _NoAnswer:
        pytest.fail(f"no answer within {seconds} s: the LPA loops")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def metadata() -> bytes:
    return rsp().encode(
        "StoreMetadataRequest",
        {
            "iccid": iccid_to_bytes("8900012345678901234"),
            "serviceProviderName": "Operator",
            "profileName": "Plan",
            "notificationConfigurationInfo": [
                {"profileManagementOperation": bit_string(0, 1), "notificationAddress": "smdp.example"}
            ],
        },
    )


def test_the_real_metadata_reads():
    assert decode_profile_metadata(metadata()).service_provider_name == "Operator"


@pytest.mark.parametrize("new_tag", [0x31, 0x04, 0x7F])
def test_metadata_with_a_wrong_tag_in_its_list_is_a_clear_error(new_tag):
    good = metadata()
    # notificationConfigurationInfo is [22] (B6); its first element is a SEQUENCE (30)
    at = good.index(b"\xb6") + 2
    assert good[at] == 0x30
    hostile = good[:at] + bytes([new_tag]) + good[at + 1 :]
    with answers_within(10), pytest.raises(Es10FormatError, match="profile metadata"):
        decode_profile_metadata(hostile)


class ScriptedCard:
    """A card link answering each request with the given bytes (what a broken or hostile card sends)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer

    def call(self, _request: bytes) -> bytes:
        return self.answer


@pytest.mark.parametrize(
    "answer",
    [
        "BF2D03A10185",  # a ProfileInfoListResponse alternative no schema has
        "BF2D06A00430025A00",  # a ProfileInfo list element of the wrong tag (30, not E3)
        "BF2D80A0000000",  # indefinite length
    ],
)
def test_hostile_card_answers_are_clear_errors(answer):
    es10 = Es10(ScriptedCard(bytes.fromhex(answer)))
    with answers_within(10), pytest.raises(LpaError):
        es10.get_profiles_info()
