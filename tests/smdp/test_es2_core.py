"""The ES2+ core with values alone: a request body, rows, a time and randomness in; an answer and
the effects to store out. No database, no HTTP."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from openrsp.smdp.errors import Es2Error
from openrsp.smdp.es2 import core
from openrsp.smdp.es2.core import CreateOrder, DropOrder, Move, OrderDefaults, RegisterEvent, UpdateOrder
from openrsp.smdp.rows import OrderRow, ProfileRow
from openrsp.smdp.states import Event

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ICCID = "8900000000000000001"
EID, EID2 = "89049032123451234512345678901235", "89049032123451234512345678901236"


def profile(state: str = "Available", *, operator: str = "op", order: OrderRow | None = None) -> ProfileRow:
    return ProfileRow(
        id=7, iccid=ICCID, operator_id=1, profile_type="gold", state=state, secrets=b"sealed",
        imsi=None, msisdn=None, spn=None, profile_name=None, profile_class="operational",
        icon_type=None, icon=None, extra={}, created_at=NOW, updated_at=NOW,
        operator_name=operator, callback_url=None, order=order,
    )  # fmt: skip


def order(**values) -> OrderRow:
    fields = {
        "id": 3, "profile_id": 7, "eid": None, "matching_id": None, "cc_hash": None, "cc_attempts": 0,
        "cc_max_attempts": 3, "download_attempts": 0, "max_download_attempts": 5, "expires_at": None,
        "release_flag": False, "smds_address": None, "retry_binding": None, "created_at": NOW,
        "updated_at": NOW,
    }  # fmt: skip
    return OrderRow(**{**fields, **values})


def codes(call, *args, **kwargs) -> tuple[str, str, str]:
    with pytest.raises(Es2Error) as info:
        call(*args, **kwargs)
    return info.value.subject_code, info.value.reason_code, info.value.message


def confirm(body: dict, row: ProfileRow | None, *, caller: str | None = "op", taken: bool = False, **kw):
    request = core.parse_confirm_order({"iccid": ICCID, **body}, "smdp.example")
    options = {"smdp_address": "smdp.example", "smds_reachable": True, "now": NOW}
    options["rng"] = random.Random(1).randbytes
    return core.confirm_order(request, caller, row, matching_id_taken=taken, **{**options, **kw})


# -- DownloadOrder ----------------------------------------------------------------------------------


def test_an_order_for_an_eid_links_the_profile_and_creates_the_order():
    request = core.parse_download_order({"iccid": ICCID, "eid": EID})
    defaults = OrderDefaults(cc_max_attempts=4, max_download_attempts=6, order_ttl=timedelta(hours=2))
    decision = core.download_order(request, "op", profile(), NOW, defaults)
    assert decision.response == {"iccid": ICCID}
    move, create = decision.effects
    assert move.event is Event.DOWNLOAD_ORDER_FOR_EID
    assert (move.conflict.subject_code, move.conflict.reason_code) == ("8.2.1", "3.3")
    assert create == CreateOrder(EID, 4, 6, NOW + timedelta(hours=2))


def test_a_profile_already_ordered_or_of_another_type_or_operator_is_refused():
    request = core.parse_download_order({"iccid": ICCID})
    assert codes(core.download_order, request, "op", profile("Allocated"), NOW, OrderDefaults()) == (
        "8.2.1", "3.3", f"profile {ICCID} is not available (state Allocated)",
    )  # fmt: skip
    typed = core.parse_download_order({"iccid": ICCID, "profileType": "silver"})
    assert codes(core.download_order, typed, "op", profile(), NOW, OrderDefaults())[:2] == ("8.2.5", "3.8")
    assert codes(core.download_order, request, "rival", profile(), NOW, OrderDefaults()) == (
        "8.2.1", "1.2", f"profile {ICCID} belongs to another operator",
    )  # fmt: skip
    assert codes(core.download_order, request, "op", None, NOW, OrderDefaults())[:2] == ("8.2.1", "3.9")
    # the administrator acts on every operator's profiles, but orders by ICCID only
    assert core.download_order(request, None, profile(operator="rival"), NOW, OrderDefaults()).effects
    by_type = core.parse_download_order({"profileType": "gold"})
    assert codes(core.claimable_by_type, by_type, None)[:2] == ("8.2.5", "1.2")


def test_an_order_by_type_takes_the_candidate_or_says_none_is_left():
    request = core.parse_download_order({"profileType": "gold"})
    decision = core.download_order_by_type(request, True, profile(), NOW, OrderDefaults())
    assert decision.effects[0] == Move(Event.DOWNLOAD_ORDER, None)  # lost race: the next candidate
    assert decision.effects[1] == CreateOrder(None, 3, 5, None)
    assert codes(core.download_order_by_type, request, True, None, NOW, OrderDefaults())[:2] == (
        "8.2.5",
        "3.7",
    )
    assert codes(core.download_order_by_type, request, False, None, NOW, OrderDefaults())[:2] == (
        "8.2.5",
        "3.9",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ("8.2.1", "2.3")),
        ({"iccid": "12"}, ("8.2.1", "2.1")),
        ({"iccid": ICCID, "eid": "123"}, ("8.1.1", "2.1")),
        ({"iccid": ICCID, "profileType": "x" * 129}, ("8.2.5", "2.1")),
    ],
)
def test_a_malformed_download_order_is_refused_before_any_row_is_read(body, expected):
    assert codes(core.parse_download_order, body)[:2] == expected


# -- ConfirmOrder -----------------------------------------------------------------------------------


def test_confirm_and_release_in_one_go_draws_a_matching_id():
    decision = confirm({"confirmationCode": "1234", "releaseFlag": True}, profile("Allocated", order=order()))
    mid = decision.response["matchingId"]
    assert decision.fresh_matching_id == mid and len(mid) == 23
    assert decision.response == {"matchingId": mid, "smdpAddress": "smdp.example"}
    update, confirmed, released = decision.effects
    assert update.values == {
        "eid": None, "matching_id": mid, "cc_hash": hashlib.sha256(b"1234").digest(),
        "smds_address": None, "release_flag": True, "updated_at": NOW,
    }  # fmt: skip
    assert (update.conflict.subject_code, update.conflict.reason_code) == ("8.2.6", "3.3")
    assert [confirmed.event, released.event] == [Event.CONFIRM, Event.RELEASE]
    # the same randomness draws the same matchingId; other randomness another one
    assert confirm({"releaseFlag": True}, profile("Allocated", order=order())).response["matchingId"] == mid
    other = confirm(
        {"releaseFlag": True}, profile("Allocated", order=order()), rng=random.Random(2).randbytes
    )
    assert other.response["matchingId"] != mid


def test_confirm_for_a_wrong_eid_or_a_taken_matching_id_is_refused():
    linked = profile("Linked", order=order(eid=EID))
    assert codes(confirm, {"eid": EID2, "releaseFlag": True}, linked)[:2] == ("8.1.1", "3.10")
    assert codes(confirm, {"matchingId": "ABC", "releaseFlag": True}, linked, taken=True) == (
        "8.2.6", "3.3", "matchingId ABC is already in use",
    )  # fmt: skip
    given = confirm({"matchingId": "ABC", "releaseFlag": False}, linked)
    assert given.fresh_matching_id is None
    assert given.response == {"matchingId": "ABC", "smdpAddress": "smdp.example", "eid": EID}
    assert [type(e) for e in given.effects] == [UpdateOrder, Move]


def test_confirm_refuses_a_released_profile_and_unknown_states():
    released = profile("Released", order=order(matching_id="M", release_flag=True))
    assert codes(confirm, {"releaseFlag": True}, released) == (
        "8.2.1", "3.5", f"profile {ICCID} is in state Released, not Allocated/Linked",
    )  # fmt: skip


def test_an_smds_event_needs_an_eid_and_credentials_and_is_registered_after_the_moves():
    assert codes(
        confirm, {"smdsAddress": "smds.example", "releaseFlag": True}, profile("Allocated", order=order())
    )[:2] == ("8.1.1", "2.2")
    linked = profile("Linked", order=order(eid=EID))
    body = {"smdsAddress": "SMDS.example:8444", "matchingId": "", "releaseFlag": True}
    assert codes(confirm, body, linked, smds_reachable=False)[:2] == ("8.9", "4.2")
    decision = confirm(body, linked)
    mid = decision.response["matchingId"]
    assert mid and decision.fresh_matching_id == mid  # an SM-DS event needs an eventId
    assert decision.effects[-1] == RegisterEvent("smds.example:8444", EID, mid)
    # an empty matchingId without an SM-DS: the default SM-DP+ finds the order by EID
    empty = confirm({"matchingId": "", "releaseFlag": True}, linked)
    assert empty.response["matchingId"] == "" and empty.effects[0].values["matching_id"] is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ("1.6", "2.2")),
        ({"releaseFlag": "yes"}, ("1.6", "2.1")),
        ({"releaseFlag": True, "matchingId": "A$B"}, ("8.2.6", "2.1")),
        ({"releaseFlag": True, "confirmationCode": ""}, ("8.2.7", "2.1")),
        ({"releaseFlag": True, "expiresAt": "tomorrow"}, ("8.8.5", "2.1")),
        ({"releaseFlag": True, "expiresAt": "2026-01-02T03:04:05"}, ("8.8.5", "2.1")),
        ({"releaseFlag": True, "maxDownloadAttempts": 0}, ("1.3.1", "2.1")),
        ({"releaseFlag": True, "maxConfirmationCodeAttempts": True}, ("1.3.1", "2.1")),
        ({"releaseFlag": True, "smdsAddress": "not an address"}, ("8.9.1", "2.1")),
    ],
)
def test_a_malformed_confirm_order_is_refused(body, expected):
    assert codes(core.parse_confirm_order, {"iccid": ICCID, **body}, "smdp.example")[:2] == expected


def test_confirm_needs_this_smdp_address():
    assert codes(core.parse_confirm_order, {"iccid": ICCID, "releaseFlag": True}, "")[:2] == ("1.2", "4.2")


def test_confirm_carries_the_given_limits_and_expiry():
    body = {"releaseFlag": False, "expiresAt": "2026-02-01T00:00:00+01:00", "maxDownloadAttempts": 9}
    values = confirm({**body, "maxConfirmationCodeAttempts": 2}, profile("Allocated", order=order())).effects[
        0
    ]
    assert values.values["expires_at"] == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert (values.values["cc_max_attempts"], values.values["max_download_attempts"]) == (2, 9)


# -- CancelOrder, ReleaseProfile, profileStatus ------------------------------------------------------


def test_cancel_drops_the_order_after_the_move():
    request = core.parse_cancel_order(
        {"iccid": ICCID, "eid": EID, "finalProfileStatusIndicator": "Unavailable"}
    )
    decision = core.cancel_order(request, "op", profile("Released", order=order(eid=EID, matching_id="M")))
    assert decision.response == {}
    assert [type(e) for e in decision.effects] == [Move, DropOrder]
    assert decision.effects[0].event is Event.CANCEL_TO_UNAVAILABLE


def test_cancel_checks_the_bound_eid_the_matching_id_and_the_state():
    bound = profile("Released", order=order(eid=EID, matching_id="M"))
    no_eid = core.parse_cancel_order({"iccid": ICCID, "finalProfileStatusIndicator": "Available"})
    assert codes(core.cancel_order, no_eid, "op", bound)[:2] == ("8.1.1", "2.2")
    assert core.cancel_order(no_eid, None, bound).effects  # the administrator need not name it
    wrong = core.parse_cancel_order({"iccid": ICCID, "eid": EID2, "finalProfileStatusIndicator": "Available"})
    assert codes(core.cancel_order, wrong, "op", bound)[:2] == ("8.1.1", "3.10")
    other_mid = core.parse_cancel_order(
        {"iccid": ICCID, "eid": EID, "matchingId": "N", "finalProfileStatusIndicator": "Available"}
    )
    assert codes(core.cancel_order, other_mid, "op", bound)[:2] == ("8.2.6", "3.10")
    assert codes(core.cancel_order, no_eid, "op", profile("Installed"))[:2] == ("8.2.1", "3.3")
    assert codes(core.cancel_order, no_eid, "op", profile("Available"))[:2] == ("8.2.1", "3.5")
    assert codes(core.parse_cancel_order, {"iccid": ICCID, "finalProfileStatusIndicator": "Gone"})[:2] == (
        "8.2.1",
        "2.1",
    )


def test_release_needs_a_confirmed_order_and_flags_it():
    request = core.parse_release_profile({"iccid": ICCID})
    decision = core.release_profile(request, "op", profile("Confirmed", order=order(eid=EID)))
    assert decision.effects == (
        Move(Event.RELEASE, decision.effects[0].conflict),
        UpdateOrder({"release_flag": True}),
    )
    assert codes(core.release_profile, request, "op", profile("Released", order=order()))[:2] == (
        "8.2.1",
        "3.5",
    )
    wrong = core.parse_release_profile({"iccid": ICCID, "eid": EID2})
    assert codes(core.release_profile, wrong, "op", profile("Confirmed", order=order(eid=EID)))[:2] == (
        "8.1.1",
        "3.10",
    )


def test_status_says_whether_the_order_has_expired():
    request = core.parse_profile_status({"iccid": ICCID})
    row = profile("Released", order=order(matching_id="M", expires_at=NOW + timedelta(minutes=1)))
    before = core.profile_status(request, "op", row, NOW).response
    assert before["expired"] is False and before["expiresAt"] == "2026-01-02T03:05:05Z"
    assert before["operator"] == "op" and before["updatedAt"] == "2026-01-02T03:04:05Z"
    later = core.profile_status(request, "op", row, NOW + timedelta(minutes=1)).response
    assert later["expired"] is True
    assert core.profile_status(request, "op", replace(row, order=None), NOW).response == {
        "iccid": ICCID, "state": "Released", "profileType": "gold", "operator": "op",
        "updatedAt": "2026-01-02T03:04:05Z",
    }  # fmt: skip
    assert codes(core.profile_status, request, "rival", row, NOW)[:2] == ("8.2.1", "1.2")
