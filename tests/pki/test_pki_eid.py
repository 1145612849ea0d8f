"""EIDs: check digits (ISO 7064 mod 97-10), making EIDs, EUM permitted ranges in both encodings."""

import pytest
from pki_testdata import SGP26_EID

from openrsp.errors import InputError
from openrsp.pki.certio import load_certificate
from openrsp.pki.eid import (
    DEFAULT_EID,
    decode_permitted_eins,
    eid_check_digits_valid,
    eid_from_certificate,
    eid_permitted,
    encode_permitted_eins,
    eum_permitted_eids,
    make_eid,
    validate_eid,
)


def test_known_eids_have_valid_check_digits():
    assert eid_check_digits_valid(SGP26_EID)
    assert eid_check_digits_valid(DEFAULT_EID)


@pytest.mark.parametrize("position", [0, 9, 17, 30, 31])
def test_any_changed_digit_breaks_the_check(position):
    digits = list(SGP26_EID)
    digits[position] = str((int(digits[position]) + 1) % 10)
    assert not eid_check_digits_valid("".join(digits))


def test_wrong_shapes_are_not_eids():
    assert not eid_check_digits_valid(SGP26_EID[:-1])
    assert not eid_check_digits_valid(SGP26_EID + "0")
    assert not eid_check_digits_valid("8904903212345123451234567890123A")


def test_make_eid():
    assert make_eid(SGP26_EID[:30]) == SGP26_EID  # the check digits SGP.26 uses
    eids = {make_eid("89001012", n) for n in range(1000)}
    assert len(eids) == 1000
    assert all(e.startswith("89001012") and len(e) == 32 and eid_check_digits_valid(e) for e in eids)
    with pytest.raises(InputError):
        make_eid("89001012", 10**22)
    with pytest.raises(InputError):
        make_eid("89-00")


def test_validate_eid_explains():
    assert validate_eid(f" {SGP26_EID} ") == SGP26_EID
    with pytest.raises(InputError, match="check digits"):
        validate_eid(SGP26_EID[:-1] + "6")
    with pytest.raises(InputError, match="32 decimal digits"):
        validate_eid("123")


def test_permitted_eins_round_trip():
    assert decode_permitted_eins(encode_permitted_eins(["89049032", "89001012"])) == ["89049032", "89001012"]
    many = [f"8900{n:04d}" for n in range(40)]  # long form DER length
    assert decode_permitted_eins(encode_permitted_eins(many)) == many
    with pytest.raises(ValueError):
        decode_permitted_eins(b"\x30\x05\x13\x02")


def test_sgp26_eum_range_comes_from_name_constraints(sgp26_dir):
    eum = load_certificate(sgp26_dir / "EUM/CERT_EUM_ECDSA_NIST.der")
    assert eum_permitted_eids(eum) == ["89049032"]
    assert eid_permitted(SGP26_EID, eum)
    assert not eid_permitted(DEFAULT_EID, eum)
    assert eid_from_certificate(load_certificate(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der")) == SGP26_EID


def test_our_eum_range_comes_from_permitted_eins(pki):
    eum = pki.cert("eum")
    assert eum_permitted_eids(eum) == [DEFAULT_EID[:8]]
    assert eid_permitted(DEFAULT_EID, eum) and not eid_permitted(SGP26_EID, eum)
    assert eum_permitted_eids(pki.cert("ci")) is None  # no restriction expressed


def test_certificate_without_eid(pki):
    with pytest.raises(InputError):
        eid_from_certificate(pki.cert("dpauth"))
