"""Helpers around RSP values: ICCID coding, BIT STRING flags and code names."""

import pytest

from openrsp.asn1.codec import rsp
from openrsp.asn1.rsp_types import (
    ErrorReason,
    NotificationEvent,
    PprId,
    bit_string,
    bits_set,
    code_name,
    iccid_from_bytes,
    iccid_to_bytes,
)
from openrsp.errors import InputError


def test_iccid_is_bcd_with_swapped_nibbles():
    assert iccid_to_bytes("89000123456789012341").hex().upper() == "98001032547698103214"
    assert iccid_from_bytes(bytes.fromhex("98001032547698103214")) == "89000123456789012341"


def test_short_iccid_is_padded_with_f():
    raw = iccid_to_bytes("8944476500001234567")  # 19 digits
    assert raw.hex().upper() == "984474560000214365F7"
    assert iccid_from_bytes(raw) == "8944476500001234567"


@pytest.mark.parametrize("bad", ["", "8901", "89A00123456789012341", "890001234567890123411"])
def test_bad_iccids_are_refused(bad):
    with pytest.raises(InputError):
        iccid_to_bytes(bad)


def test_bad_iccid_bytes_are_refused():
    with pytest.raises(InputError):
        iccid_from_bytes(b"\x98\x00")


def test_bit_strings_match_what_peers_send():
    codec = rsp()
    # an install notification carries '81 02 07 80': one bit, seven unused
    install = bit_string(NotificationEvent.INSTALL)
    assert install == (b"\x80", 1)
    assert codec.encode("NotificationEvent", install).hex().upper() == "03020780"
    # PPR1 and PPR2: '03 02 05 60'
    both = bit_string(PprId.PPR1, PprId.PPR2)
    assert codec.encode("PprIds", both).hex().upper() == "03020560"
    assert bits_set(codec.decode("PprIds", bytes.fromhex("03020560"))) == {1, 2}
    assert bit_string() == (b"", 0)
    assert bits_set(bit_string(0, 9, 18)) == {0, 9, 18}


def test_code_names_include_values_from_newer_peers():
    assert code_name(ErrorReason, 8) == "scp03tSecurityError"
    assert code_name(ErrorReason, 13) == "installFailedDueToDataMismatch"
    assert code_name(ErrorReason, 20) == "unknown(20)"
