"""ES9+ base64 fields: the strict first try answers exactly as the normalizing path always did."""

import base64
import binascii

import pytest

from openrsp.rspserver.wire import base64_field
from openrsp.smdp.errors import Es9Error


def _normalized(text: str) -> bytes | None:
    """The field as read before the strict first try: whitespace dropped, padding added."""
    text = "".join(text.split())
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


CASES = [
    base64.b64encode(bytes(range(200))).decode(),
    "AAEC",
    "AAE=",
    "AAE",  # padding missing
    "AA E=",
    "AAE=\n",
    "\tAAEC\r\n",
    "",
    "   ",
    "====",
    "AA==AA==",  # padding inside
    "AA*=",
    "ÄAEC",
    "A",
    "AB",
    "QUJD\nREVG\n",
]


@pytest.mark.parametrize("text", CASES)
def test_base64_field_reads_what_normalizing_reads(text):
    expected = _normalized(text)
    if expected is None:
        with pytest.raises(Es9Error) as excinfo:
            base64_field({"f": text}, "f")
        assert (excinfo.value.subject_code, excinfo.value.reason_code) == ("1.3.1", "2.1")
    else:
        assert base64_field({"f": text}, "f") == expected
