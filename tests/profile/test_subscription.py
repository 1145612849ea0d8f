"""Subscription validation and bulk generation from CSV-like rows."""

import random

import pytest

from openrsp.profile import ProfileError, Subscription, generate_subscriptions, luhn_valid

KI = bytes(range(16))


def test_valid_subscription_and_its_plmn():
    sub = Subscription(iccid="89490012345678901231", imsi="310410123456789", ki=KI, opc=KI, mnc_length=3)
    assert (sub.mcc, sub.mnc) == ("310", "410")
    assert sub.profile_class == "operational"


@pytest.mark.parametrize(
    "changes",
    [
        {"iccid": "8949"},
        {"iccid": "8949001234567890123X"},
        {"imsi": "26201"},
        {"ki": bytes(15)},
        {"opc": "00" * 16},
        {"msisdn": "+49-170"},
        {"spn": "x" * 17},
        {"profile_class": "commercial"},
        {"algorithm": "xor"},
        {"pin1": "12"},
        {"adm1": "1234"},
        {"usim_aid": bytes.fromhex("A0000000871004FFFFFFFF8907090000")},
    ],
)
def test_bad_values_are_refused(changes):
    values = dict(iccid="89490012345678901231", imsi="262019876543210", ki=KI, opc=KI)
    values.update(changes)
    with pytest.raises(ProfileError):
        Subscription(**values)


def test_rows_get_keys_and_check_digits():
    rows = [
        {"ICCID": "894900123456789012", "IMSI": "262019876543210", "MSISDN": "+4917012345"},
        {"iccid": "8949001234567890123", "imsi": "262019876543211", "ki": "00" * 16, "opc": "11" * 16},
    ]
    subs = generate_subscriptions(rows, random.Random(7))

    first, second = subs
    assert len(first.iccid) == 19 and luhn_valid(first.iccid)
    assert second.iccid == "8949001234567890123"  # 19 digits kept as they are by default
    assert len(first.ki) == 16 and len(first.opc) == 16 and first.ki != first.opc
    assert first.msisdn == "+4917012345"
    assert (second.ki, second.opc) == (bytes(16), b"\x11" * 16)
    # Same seed, same keys: the randomness comes only from rng.
    assert generate_subscriptions(rows, random.Random(7))[0].ki == first.ki


def test_19_digit_iccids_get_a_check_digit_when_asked():
    rows = [{"iccid": "8949001234567890123", "imsi": "262019876543210"}]
    (sub,) = generate_subscriptions(rows, random.Random(1), append_check_digit=True)
    assert len(sub.iccid) == 20 and luhn_valid(sub.iccid)


def test_op_needs_a_derivation_function():
    rows = [{"iccid": "89490012345678901231", "imsi": "262019876543210", "ki": "00" * 16, "op": "22" * 16}]
    with pytest.raises(ProfileError, match="row 1"):
        generate_subscriptions(rows, random.Random(1))
    (sub,) = generate_subscriptions(
        rows, random.Random(1), derive_opc=lambda ki, op: bytes(a ^ b for a, b in zip(ki, op, strict=True))
    )
    assert sub.opc == b"\x22" * 16


def test_bad_rows_name_their_line():
    rows = [
        {"iccid": "89490012345678901231", "imsi": "262019876543210"},
        {"iccid": "89490012345678901249", "imsi": "262019876543211", "ki": "zz"},
    ]
    with pytest.raises(ProfileError, match="row 2"):
        generate_subscriptions(rows, random.Random(1))
    with pytest.raises(ProfileError, match="row 1"):
        generate_subscriptions([{"iccid": "89490012345678901231"}], random.Random(1))
