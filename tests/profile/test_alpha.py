"""Alpha identifiers, EF.SPN and dialling-number records."""

import pytest

from openrsp.profile import ProfileError
from openrsp.profile.alpha import (
    decode_alpha,
    decode_dialling_number,
    decode_spn,
    encode_alpha,
    encode_dialling_number,
    encode_spn,
)


def test_spn_in_gsm_alphabet_matches_ts48():
    # EF.SPN of the TS.48 profiles: display condition 01, 'GSMA_TEST' ('_' is GSM 0x11).
    assert encode_spn("GSMA_TEST").hex().upper() == "0147534D411154455354" + "FF" * 7
    assert decode_spn(bytes.fromhex("0147534D411154455354") + b"\xff" * 7) == "GSMA_TEST"


def test_text_outside_the_gsm_alphabet_becomes_ucs2():
    encoded = encode_alpha("Oper€", 16)
    assert encoded[0] == 0x80
    assert decode_alpha(encoded) == "Oper€"


def test_gsm_national_letters_stay_one_byte_each():
    assert encode_alpha("Ümit", 4).hex().upper() == "5E6D6974"


def test_empty_spn_file_gives_none():
    assert decode_spn(b"\xff" * 17) is None


def test_too_long_names_are_refused():
    with pytest.raises(ProfileError):
        encode_spn("A name far too long for the file")


def test_ucs2_81_form_is_read():
    # 0x81 form: 3 characters, base pointer 0x08 (→ 0x0400, Cyrillic), 'М', 'Т', 'С'
    data = bytes([0x81, 0x03, 0x08, 0x9C, 0xA2, 0xA1]) + b"\xff" * 4
    assert decode_alpha(data) == "МТС"


def test_international_msisdn_record_round_trip():
    record = encode_dialling_number("+491701234567", 28)
    assert len(record) == 28
    assert record[14:].hex().upper() == "0791947110325476FFFFFFFFFFFF"
    assert decode_dialling_number(record) == "+491701234567"


def test_national_number_and_empty_record():
    assert decode_dialling_number(encode_dialling_number("0170123", 14)) == "0170123"
    assert decode_dialling_number(b"\xff" * 28) is None


def test_bad_numbers_are_refused():
    with pytest.raises(ProfileError):
        encode_dialling_number("+49 170", 28)
