"""Activation codes as users type them and as QR codes carry them (SGP.22 §4.1)."""

import pytest
import segno

from openrsp.lpa.core.activation_code import (
    ActivationCode,
    ActivationCodeError,
    parse_activation_code,
)
from openrsp.lpa.core.errors import LpaInputError
from openrsp.lpa.ui.qr import activation_code_from_qr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LPA:1$smdp.example.com$ABC-123", ActivationCode("smdp.example.com", "ABC-123")),
        ("1$smdp.example.com$ABC-123", ActivationCode("smdp.example.com", "ABC-123")),
        ("lpa:1$SMDP.Example.com$X", ActivationCode("smdp.example.com", "X")),
        ("  LPA:1$smdp.example.com:8443$X  ", ActivationCode("smdp.example.com:8443", "X")),
        ("LPA:1$smdp.example.com$", ActivationCode("smdp.example.com", "")),
        ("LPA:1$smdp.example.com$$", ActivationCode("smdp.example.com", "")),
        (
            "LPA:1$smdp.example.com$MID$1.3.6.1.4.1.31746",
            ActivationCode("smdp.example.com", "MID", "1.3.6.1.4.1.31746"),
        ),
        ("LPA:1$smdp.example.com$MID$$1", ActivationCode("smdp.example.com", "MID", None, True)),
        (
            "LPA:1$smdp.example.com$MID$2.999.10$1",
            ActivationCode("smdp.example.com", "MID", "2.999.10", True),
        ),
        ("LPA:1$smdp.example.com$MID$$", ActivationCode("smdp.example.com", "MID")),
    ],
)
def test_valid_codes(text, expected):
    assert parse_activation_code(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("LPA:", "empty"),
        ("2$smdp.example.com$X", "format '2'"),
        ("LPA:1$smdp.example.com", "at least"),
        ("LPA:1$$MID", "address is missing"),
        ("LPA:1$not a host$MID", "not a host name"),
        ("LPA:1$smdp.example.com:99999$MID", "port"),
        ("LPA:1$smdp.example.com$MID$not-an-oid", "OID"),
        ("LPA:1$smdp.example.com$MID$$yes", "required flag"),
        ("LPA:1$smdp.example.com$MID$$1$extra", "at most 5"),
        ("LPA:1$smdp.example.com$MID WITH SPACE", "matching ID"),
    ],
)
def test_invalid_codes_say_what_is_wrong(text, complaint):
    with pytest.raises(ActivationCodeError, match=complaint) as caught:
        parse_activation_code(text)
    assert isinstance(caught.value, LpaInputError)
    assert str(caught.value).startswith("activation code:")


def test_round_trip_through_text():
    for code in (
        ActivationCode("smdp.example.com", "MID"),
        ActivationCode("smdp.example.com", "", "2.999.10"),
        ActivationCode("smdp.example.com:8443", "MID", None, True),
    ):
        assert parse_activation_code(str(code)) == code
    assert str(ActivationCode("smdp.example.com", "MID", None, True)) == "LPA:1$smdp.example.com$MID$$1"


def test_qr_image_is_read(tmp_path):
    image = tmp_path / "code.png"
    segno.make("LPA:1$smdp.example.com$QR-MATCHING-ID$$1", micro=False).save(str(image), scale=6)
    assert activation_code_from_qr(image) == ActivationCode("smdp.example.com", "QR-MATCHING-ID", None, True)


def test_qr_errors_are_plain(tmp_path):
    with pytest.raises(LpaInputError, match="does not exist"):
        activation_code_from_qr(tmp_path / "missing.png")
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image at all")
    with pytest.raises(LpaInputError, match="cannot read"):
        activation_code_from_qr(garbage)
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 64), 255).save(blank)
    with pytest.raises(LpaInputError, match="no QR code"):
        activation_code_from_qr(blank)
    other = tmp_path / "other.png"
    segno.make("https://example.com/", micro=False).save(str(other), scale=6)
    with pytest.raises(ActivationCodeError):
        activation_code_from_qr(other)
