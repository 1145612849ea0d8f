"""ES2+ as SGP.22 §5.3 has it: the functions, their state changes and their error codes."""

import hashlib
import random
from datetime import timedelta

import pytest

from openrsp.smdp.db import orders
from openrsp.smdp.db.profiles import NewProfile, add_profiles, get_profile
from openrsp.smdp.errors import Es2Error
from openrsp.smdp.es2.service import Es2Service, OrderDefaults

ICCID, OTHER = "8900000000000000001", "8900000000000000002"
EID, EID2 = "89049032123451234512345678901235", "89049032123451234512345678901236"


@pytest.fixture
def es2(database, clock):
    add_profiles(database, [NewProfile(ICCID, b"p1", "gold"), NewProfile(OTHER, b"p2", "gold")], "op")
    add_profiles(database, [NewProfile("8900000000000000099", b"p3", "gold")], "rival")
    rng = random.Random(7)
    return Es2Service(database, operator="op", address="smdp.example", clock=clock, rng=rng.randbytes)


def codes(call, *args) -> tuple[str, str]:
    with pytest.raises(Es2Error) as info:
        call(*args)
    return info.value.subject_code, info.value.reason_code


def status(es2, iccid=ICCID) -> dict:
    return es2.profile_status({"iccid": iccid})


def test_order_confirm_and_release_in_one_go(es2, database):
    assert es2.download_order({"iccid": ICCID}) == {"iccid": ICCID}
    assert status(es2)["state"] == "Allocated"
    answer = es2.confirm_order({"iccid": ICCID, "confirmationCode": "1234", "releaseFlag": True})
    assert answer["smdpAddress"] == "smdp.example" and "eid" not in answer
    mid = answer["matchingId"]
    assert all(group.isalnum() and group.isupper() or group.isdigit() for group in mid.split("-"))
    after = status(es2)
    assert after["state"] == "Released" and after["matchingId"] == mid and after["ccRequired"]
    with database.transaction() as connection:
        profile = get_profile(connection, ICCID)
        assert profile.order.cc_hash == hashlib.sha256(b"1234").digest()  # never the code itself
        assert orders.find_order_by_matching_id(connection, mid).profile_id == profile.id


def test_an_order_for_an_eid_keeps_it(es2):
    es2.download_order({"iccid": ICCID, "eid": EID})
    assert status(es2)["state"] == "Linked"
    assert codes(es2.confirm_order, {"iccid": ICCID, "eid": EID2, "releaseFlag": True}) == ("8.1.1", "3.10")
    answer = es2.confirm_order({"iccid": ICCID, "matchingId": "ABC-123", "releaseFlag": False})
    assert answer == {"matchingId": "ABC-123", "smdpAddress": "smdp.example", "eid": EID}
    assert status(es2)["state"] == "Confirmed"
    assert es2.release_profile({"iccid": ICCID}) == {}
    assert status(es2)["state"] == "Released"


def test_download_order_errors(es2):
    assert codes(es2.download_order, {"iccid": "8900000000000000077"}) == ("8.2.1", "3.9")
    assert codes(es2.download_order, {"iccid": "8900000000000000099"}) == ("8.2.1", "1.2")  # rival's
    assert codes(es2.download_order, {"iccid": "12AB"}) == ("8.2.1", "2.1")
    assert codes(es2.download_order, {"eid": "123"}) == ("8.1.1", "2.1")
    assert codes(es2.download_order, {}) == ("8.2.1", "2.3")
    assert codes(es2.download_order, {"profileType": "silver"}) == ("8.2.5", "3.9")
    assert codes(es2.download_order, {"iccid": ICCID, "profileType": "silver"}) == ("8.2.5", "3.8")
    es2.download_order({"iccid": ICCID})
    assert codes(es2.download_order, {"iccid": ICCID}) == ("8.2.1", "3.3")
    assert es2.download_order({"profileType": "gold"}) == {"iccid": OTHER}
    assert codes(es2.download_order, {"profileType": "gold"}) == ("8.2.5", "3.7")


def test_confirm_order_errors(es2):
    assert codes(es2.confirm_order, {"iccid": ICCID, "releaseFlag": True}) == ("8.2.1", "3.5")  # no order
    es2.download_order({"iccid": ICCID})
    es2.download_order({"iccid": OTHER})
    assert codes(es2.confirm_order, {"iccid": ICCID}) == ("1.6", "2.2")  # releaseFlag missing
    assert codes(es2.confirm_order, {"releaseFlag": True}) == ("8.2.1", "2.2")
    assert codes(es2.confirm_order, {"iccid": ICCID, "matchingId": "", "releaseFlag": True}) == (
        "8.1.1",
        "2.2",
    )
    assert codes(es2.confirm_order, {"iccid": ICCID, "smdsAddress": "ds", "releaseFlag": True}) == (
        "8.1.1",
        "2.2",
    )
    for unusable in ("A$B", "A\nB", "X" * 256):  # '$' and controls cannot be in an activation code
        assert codes(es2.confirm_order, {"iccid": ICCID, "matchingId": unusable, "releaseFlag": True}) == (
            "8.2.6",
            "2.1",
        )
    es2.confirm_order({"iccid": ICCID, "matchingId": "SAME-ID", "releaseFlag": True})
    assert codes(es2.confirm_order, {"iccid": OTHER, "matchingId": "SAME-ID", "releaseFlag": True}) == (
        "8.2.6",
        "3.3",
    )
    assert codes(es2.confirm_order, {"iccid": ICCID, "releaseFlag": True}) == ("8.2.1", "3.5")  # done already


def test_an_empty_matching_id_is_kept_empty_for_an_eid_order(es2):
    es2.download_order({"iccid": ICCID, "eid": EID})
    answer = es2.confirm_order({"iccid": ICCID, "matchingId": "", "releaseFlag": True})
    assert answer["matchingId"] == "" and answer["eid"] == EID


def test_cancel_order_returns_the_profile_or_retires_it(es2):
    es2.download_order({"iccid": ICCID, "eid": EID})
    es2.confirm_order({"iccid": ICCID, "matchingId": "M-1", "releaseFlag": True})
    assert codes(es2.cancel_order, {"iccid": ICCID}) == ("8.2.1", "2.2")
    assert codes(es2.cancel_order, {"iccid": ICCID, "finalProfileStatusIndicator": "Gone"}) == (
        "8.2.1",
        "2.1",
    )
    bad_eid = {"iccid": ICCID, "eid": EID2, "finalProfileStatusIndicator": "Available"}
    assert codes(es2.cancel_order, bad_eid) == ("8.1.1", "3.10")
    no_eid = {"iccid": ICCID, "matchingId": "M-1", "finalProfileStatusIndicator": "Available"}
    assert codes(es2.cancel_order, no_eid) == ("8.1.1", "2.2")  # the order is bound to an EID
    bad_mid = {"iccid": ICCID, "eid": EID, "matchingId": "M-2", "finalProfileStatusIndicator": "Available"}
    assert codes(es2.cancel_order, bad_mid) == ("8.2.6", "3.10")
    assert es2.cancel_order({**no_eid, "eid": EID}) == {}
    after = status(es2)
    assert after["state"] == "Available" and "matchingId" not in after
    # the matchingId is free again, and the profile can be ordered again
    es2.download_order({"iccid": ICCID})
    es2.confirm_order({"iccid": ICCID, "matchingId": "M-1", "releaseFlag": False})
    es2.cancel_order({"iccid": ICCID, "finalProfileStatusIndicator": "Unavailable"})
    assert status(es2)["state"] == "Unavailable"
    assert codes(es2.download_order, {"iccid": ICCID}) == ("8.2.1", "3.3")
    assert codes(es2.cancel_order, {"iccid": ICCID, "finalProfileStatusIndicator": "Available"}) == (
        "8.2.1",
        "3.5",
    )


def test_release_needs_a_confirmed_order(es2):
    assert codes(es2.release_profile, {"iccid": ICCID}) == ("8.2.1", "3.5")
    assert codes(es2.release_profile, {"iccid": "8900000000000000077"}) == ("8.2.1", "3.9")
    assert codes(es2.release_profile, {"iccid": "8900000000000000099"}) == ("8.2.1", "1.2")


def test_expiry_and_attempts_are_kept_with_the_order(es2, clock):
    es2.download_order({"iccid": ICCID})
    es2.confirm_order(
        {
            "iccid": ICCID,
            "releaseFlag": True,
            "expiresAt": "2026-01-02T04:00:00Z",
            "maxConfirmationCodeAttempts": 5,
        }
    )
    now = status(es2)
    assert (now["expiresAt"], now["ccMaxAttempts"], now["expired"]) == ("2026-01-02T04:00:00Z", 5, False)
    clock.advance(hours=1)
    assert status(es2)["expired"] is True
    bad = {"iccid": OTHER, "releaseFlag": True, "expiresAt": "tomorrow"}
    es2.download_order({"iccid": OTHER})
    assert codes(es2.confirm_order, bad) == ("8.8.5", "2.1")


def test_default_order_lifetime_comes_from_the_configuration(database, clock):
    add_profiles(database, [NewProfile(ICCID, b"p1")], "op")
    service = Es2Service(
        database,
        operator="op",
        address="a",
        defaults=OrderDefaults(order_ttl=timedelta(hours=2)),
        clock=clock,
    )
    service.download_order({"iccid": ICCID})
    assert service.profile_status({"iccid": ICCID})["expiresAt"] == "2026-01-02T05:04:05Z"


def test_the_administrator_acts_on_every_operators_profiles(database, es2):
    admin = Es2Service(database, operator=None, address="smdp.example")
    assert admin.download_order({"iccid": "8900000000000000099"}) == {"iccid": "8900000000000000099"}
    assert codes(admin.download_order, {"profileType": "gold"}) == ("8.2.5", "1.2")


def test_a_19_digit_iccid_may_come_padded_with_f(es2):
    assert es2.download_order({"iccid": ICCID + "F"}) == {"iccid": ICCID}
