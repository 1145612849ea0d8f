"""ICCID, IMSI, PLMN and Luhn encodings against known values."""

import pytest

from openrsp.profile import (
    ProfileError,
    decode_header_iccid,
    decode_iccid,
    decode_imsi,
    encode_header_iccid,
    encode_iccid,
    encode_imsi,
    luhn_check_digit,
    luhn_valid,
)
from openrsp.profile.identifiers import encode_plmn


def test_iccid_swapped_bcd_matches_the_bsp_vectors():
    assert encode_iccid("89000123456789012341").hex() == "98001032547698103214"
    assert decode_iccid(bytes.fromhex("98001032547698103214")) == "89000123456789012341"


def test_19_digit_iccid_is_f_padded_in_the_last_byte():
    encoded = encode_iccid("8949449999999990163")
    assert encoded.hex().upper() == "989444999999990961F3"
    assert decode_iccid(encoded) == "8949449999999990163"


def test_header_iccid_is_plain_bcd():
    assert encode_header_iccid("8949449999999990163").hex().upper() == "8949449999999990163F"
    assert decode_header_iccid(bytes.fromhex("89000123456789012341")) == "89000123456789012341"


@pytest.mark.parametrize("bad", ["", "8900", "89000123456789012341X", "8900012345678901234123"])
def test_bad_iccids_are_refused(bad):
    with pytest.raises(ProfileError):
        encode_iccid(bad)


def test_iccid_bytes_must_be_ten_and_bcd():
    with pytest.raises(ProfileError):
        decode_iccid(bytes(9))
    with pytest.raises(ProfileError):
        decode_iccid(bytes.fromhex("98001032547698A03214"))


def test_imsi_matches_ts48_ef_imsi():
    # EF.IMSI of the TS.48 profiles: 15 digits, odd parity nibble 9.
    assert encode_imsi("001010123456063").hex() == "080910101032540636"
    assert decode_imsi(bytes.fromhex("080910101032540636")) == "001010123456063"


def test_even_length_imsi_uses_parity_1_and_f_padding():
    encoded = encode_imsi("00101012345678")
    assert encoded.hex().upper() == "0801101010325476F8"
    assert decode_imsi(encoded) == "00101012345678"


def test_short_imsi_pads_the_file_with_ff():
    encoded = encode_imsi("2620112")
    assert len(encoded) == 9 and encoded[0] == 4 and encoded[5:] == b"\xff" * 4
    assert decode_imsi(encoded) == "2620112"


def test_empty_ef_imsi_is_refused():
    with pytest.raises(ProfileError):
        decode_imsi(b"\xff" * 9)


def test_plmn_encoding_of_two_and_three_digit_mncs():
    assert encode_plmn("246", "81").hex().upper() == "42F618"
    assert encode_plmn("310", "410").hex().upper() == "130014"


def test_luhn_check_digit():
    assert luhn_check_digit("8900012345678901234") == "1"
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_valid("89000123456789012341")
    assert not luhn_valid("89000123456789012342")
