"""ES10c and the notification functions over APDUs: enable/disable/delete with their results and
notifications, policy rules, profile classes, memory reset, nickname, profile info, EID, addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
from rsp_harness import HarnessSmdp, Rig, final_result, store_metadata, verify_with_certificate

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import bit_string, iccid_from_bytes, iccid_to_bytes
from openrsp.asn1.tlv import read_tlv
from openrsp.euicc.store import create_euicc
from openrsp.lpa.drivers.es10_client import Es10TransportError
from openrsp.profile.package import ProfilePackage

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TS48 = SHARED / "profiles" / "ts48"
NOTIFY_ALL = [((0, 1, 2, 3), "notify.openrsp.test")]
OWNER = bytes.fromhex("00F110")  # MCC 001, MNC 01


def _install(rig, filename: str, **metadata) -> str:
    package = (TS48 / filename).read_bytes()
    iccid = ProfilePackage.from_der(package).iccid
    download = rig.lpa.download(package, store_metadata(iccid, **metadata))
    assert final_result(download.result)[0] == "successResult", download.result
    return iccid


def _call(rig, type_name: str, value) -> dict:
    answer = rig.client.call(rsp().encode(type_name, value))
    return rsp().decode(type_name.replace("Request", "Response"), answer)


def _enable(rig, iccid: str) -> int:
    value = {"profileIdentifier": ("iccid", iccid_to_bytes(iccid)), "refreshFlag": False}
    return _call(rig, "EnableProfileRequest", value)["enableResult"]


def _disable(rig, iccid: str) -> int:
    value = {"profileIdentifier": ("iccid", iccid_to_bytes(iccid)), "refreshFlag": False}
    return _call(rig, "DisableProfileRequest", value)["disableResult"]


def _delete(rig, iccid: str) -> int:
    return _call(rig, "DeleteProfileRequest", ("iccid", iccid_to_bytes(iccid)))["deleteResult"]


def _profiles(rig, request: str = "BF2D00") -> dict[str, dict]:
    kind, items = rsp().decode("ProfileInfoListResponse", rig.client.call(bytes.fromhex(request)))
    assert kind == "profileInfoListOk"
    return {iccid_from_bytes(p["iccid"]) if "iccid" in p else str(i): p for i, p in enumerate(items)}


def _notifications(rig) -> list[tuple[int, int, str]]:
    kind, items = rsp().decode("ListNotificationResponse", rig.client.call(bytes.fromhex("BF2800")))
    assert kind == "notificationMetadataList"
    events = {
        (b"\x80", 1): "install",
        (b"\x40", 2): "enable",
        (b"\x20", 3): "disable",
        (b"\x10", 4): "delete",
    }
    return [
        (n["seqNumber"], events[n["profileManagementOperation"]], iccid_from_bytes(n["iccid"])) for n in items
    ]


A, B = "TS48V1-A-UNIQUE.der", "TS48V1-B-UNIQUE.der"


# --- enable / disable / delete -------------------------------------------------------------------------
def test_enabling_one_profile_disables_the_other_with_a_notification_each(rig):
    a = _install(rig, A, notifications=NOTIFY_ALL)
    b = _install(rig, B, notifications=NOTIFY_ALL)
    assert _enable(rig, a) == 0
    assert _enable(rig, b) == 0
    profiles = _profiles(rig)
    assert (profiles[a]["profileState"], profiles[b]["profileState"]) == (0, 1)
    assert _notifications(rig) == [
        (1, "install", a),
        (2, "install", b),
        (3, "enable", a),
        (4, "disable", a),
        (5, "enable", b),
    ]


def test_enable_results(rig):
    a = _install(rig, A)
    assert _enable(rig, "89000000000000000000") == 1  # iccidOrAidNotFound
    assert _enable(rig, a) == 0
    assert _enable(rig, a) == 2  # profileNotInDisabledState
    aid = _profiles(rig)[a]["isdpAid"]
    value = {"profileIdentifier": ("isdpAid", aid), "refreshFlag": True}
    assert _call(rig, "EnableProfileRequest", value)["enableResult"] == 2


def test_disable_and_delete_results(rig):
    a = _install(rig, A)
    assert _disable(rig, a) == 2  # profileNotInEnabledState
    assert _disable(rig, "89000000000000000000") == 1
    _enable(rig, a)
    assert _delete(rig, a) == 2  # profileNotInDisabledState: an enabled profile is not deleted
    assert _disable(rig, a) == 0
    assert _delete(rig, "89000000000000000000") == 1
    assert _delete(rig, a) == 0
    assert _profiles(rig) == {}


def test_without_notification_configuration_no_notification_is_made(rig):
    a = _install(rig, A)
    _enable(rig, a)
    _disable(rig, a)
    _delete(rig, a)
    assert [n[1] for n in _notifications(rig)] == ["install"]


def test_other_notifications_are_signed_and_can_be_removed(rig):
    a = _install(rig, A, notifications=[((1,), "enable.example")])
    _enable(rig, a)
    kind, items = rsp().decode("RetrieveNotificationsListResponse", rig.client.call(bytes.fromhex("BF2B00")))
    assert kind == "notificationList" and len(items) == 2
    install, (other_kind, other) = items
    assert install[0] == "profileInstallationResult" and other_kind == "otherSignedNotification"
    tbs = other["tbsOtherNotification"]
    assert (tbs["seqNumber"], tbs["notificationAddress"]) == (2, "enable.example")
    identity = rig.euicc.state.identities[0]
    tbs_der = rsp().encode("NotificationMetadata", tbs)
    assert verify_with_certificate(identity.euicc_certificate, tbs_der, other["euiccNotificationSignature"])
    # search by sequence number, then remove it
    only = rsp().encode("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", 2)})
    assert len(rsp().decode("RetrieveNotificationsListResponse", rig.client.call(only))[1]) == 1
    assert _call(rig, "NotificationSentRequest", {"seqNumber": 2}) == {"deleteNotificationStatus": 0}
    assert _call(rig, "NotificationSentRequest", {"seqNumber": 2}) == {"deleteNotificationStatus": 1}
    assert rsp().decode("RetrieveNotificationsListResponse", rig.client.call(only)) == (
        "notificationsListResultError",
        1,
    )
    rig.reopen()
    assert [n[0] for n in _notifications(rig)] == [1]


def test_list_notification_filters_by_operation(rig):
    a = _install(rig, A, notifications=NOTIFY_ALL)
    _enable(rig, a)
    request = rsp().encode("ListNotificationRequest", {"profileManagementOperation": bit_string(1)})
    kind, items = rsp().decode("ListNotificationResponse", rig.client.call(request))
    assert [n["seqNumber"] for n in items] == [2]


# --- policy rules and classes --------------------------------------------------------------------------
def test_ppr1_profile_cannot_be_disabled_nor_replaced(rig):
    a = _install(rig, A, ppr=(1,), owner=OWNER)
    b = _install(rig, B)
    assert _profiles(rig)[a]["profilePolicyRules"] == bit_string(1)
    assert _enable(rig, a) == 0
    assert _disable(rig, a) == 3  # disallowedByPolicy
    assert _enable(rig, b) == 3
    assert _profiles(rig)[a]["profileState"] == 1


def test_ppr2_profile_cannot_be_deleted(rig):
    a = _install(rig, A, ppr=(2,), owner=OWNER)
    assert _delete(rig, a) == 3
    assert a in _profiles(rig)


def test_provisioning_profile_rules(tmp_path, pki_dir, smdp_credentials):

    create_euicc(tmp_path / "e", pki=pki_dir, provisioning_profile=(TS48 / "TS48v1_A.der").read_bytes())
    rig = Rig(tmp_path / "e", HarnessSmdp(smdp_credentials.sets[0]), smdp_credentials)
    [(pp, info)] = _profiles(rig).items()
    assert (info["profileClass"], info["profileState"]) == (1, 1)
    a = _install(rig, A, ppr=(1,), owner=OWNER)
    assert _enable(rig, a) == 0  # the operational profile takes over from the provisioning one
    assert _delete(rig, pp) == 3  # a provisioning profile is not deleted with ES10c
    assert _enable(rig, pp) == 0  # and may take over even from a PPR1 profile
    assert _profiles(rig)[a]["profileState"] == 0


def test_memory_reset(tmp_path, pki_dir, smdp_credentials):

    create_euicc(
        tmp_path / "e",
        pki=pki_dir,
        default_smdp="smdp.example",
        provisioning_profile=(TS48 / "TS48v1_A.der").read_bytes(),
    )
    rig = Rig(tmp_path / "e", HarnessSmdp(smdp_credentials.sets[0]), smdp_credentials)
    operational = _install(rig, A, ppr=(2,), owner=OWNER)
    test = _install(rig, B, profile_class=0)

    def reset(*options: int) -> int:
        value = {"resetOptions": bit_string(*options)}
        return _call(rig, "EuiccMemoryResetRequest", value)["resetResult"]

    assert reset(0) == 0  # operational profiles go, PPR2 or not
    assert set(_profiles(rig)) == {"89000123456789012341", test}
    assert reset(0) == 1  # nothingToDelete
    assert reset(1) == 0
    assert set(_profiles(rig)) == {"89000123456789012341"}  # the provisioning profile stays
    assert reset(2) == 0
    addresses = rsp().decode("EuiccConfiguredAddressesResponse", rig.client.call(bytes.fromhex("BF3C00")))
    assert "defaultDpAddress" not in addresses
    assert reset(0, 1, 2) == 1
    assert operational not in _profiles(rig)


# --- information functions -------------------------------------------------------------------------------
def test_profile_info_tag_list_and_search_criteria(rig):
    a = _install(rig, A, spn="Operator A", name="Plan A")
    b = _install(rig, B, profile_class=0)
    only = _profiles(rig, "BF2D" + "06" + "5C04" + "5A9F7092")  # tags 5A, 9F70, 92
    assert set(only[a]) == {"iccid", "profileState", "profileName"} and only[a]["profileName"] == "Plan A"
    full = _profiles(rig)[a]
    assert full["serviceProviderName"] == "Operator A" and full["profileClass"] == 2
    by_iccid = rsp().encode("ProfileInfoListRequest", {"searchCriteria": ("iccid", iccid_to_bytes(b))})
    assert list(rsp().decode("ProfileInfoListResponse", rig.client.call(by_iccid))[1][0]["iccid"]) == list(
        iccid_to_bytes(b)
    )
    by_class = rsp().encode("ProfileInfoListRequest", {"searchCriteria": ("profileClass", 0)})
    assert len(rsp().decode("ProfileInfoListResponse", rig.client.call(by_class))[1]) == 1
    by_aid = rsp().encode("ProfileInfoListRequest", {"searchCriteria": ("isdpAid", full["isdpAid"])})
    assert rsp().decode("ProfileInfoListResponse", rig.client.call(by_aid))[1][0]["profileName"] == "Plan A"
    bad = rsp().encode("ProfileInfoListRequest", {"tagList": bytes.fromhex("5A77")})
    assert rsp().decode("ProfileInfoListResponse", rig.client.call(bad)) == ("profileInfoListError", 1)


def test_set_nickname(rig):
    a = _install(rig, A)
    value = {"iccid": iccid_to_bytes(a), "profileNickname": "work"}
    assert _call(rig, "SetNicknameRequest", value) == {"setNicknameResult": 0}
    rig.reopen()
    assert _profiles(rig)[a]["profileNickname"] == "work"
    value = {"iccid": iccid_to_bytes("89000000000000000000"), "profileNickname": "x"}
    assert _call(rig, "SetNicknameRequest", value) == {"setNicknameResult": 1}


def test_eid_as_lpac_asks_for_it(rig):
    answer = rig.client.call(bytes.fromhex("BF3E035C015A"))
    assert answer == bytes.fromhex("BF3E125A10") + bytes.fromhex(rig.euicc.state.eid)


def test_configured_addresses_and_default_dp(rig):
    answer = rsp().decode("EuiccConfiguredAddressesResponse", rig.client.call(bytes.fromhex("BF3C00")))
    assert answer == {"defaultDpAddress": "smdp.openrsp.test", "rootDsAddress": "lpa.ds.gsma.com"}
    assert _call(rig, "SetDefaultDpAddressRequest", {"defaultDpAddress": "other.example"}) == {
        "setDefaultDpAddressResult": 0
    }
    rig.reopen()
    answer = rsp().decode("EuiccConfiguredAddressesResponse", rig.client.call(bytes.fromhex("BF3C00")))
    assert answer["defaultDpAddress"] == "other.example"


def test_euicc_info_and_rat(rig):
    info1 = rsp().decode("EUICCInfo1", rig.client.call(bytes.fromhex("BF2000")))
    pkids = [s.ci_pkid for s in rig.smdp_sets]
    assert info1["svn"] == b"\x02\x02\x02"
    assert set(info1["euiccCiPKIdListForVerification"]) == set(pkids)
    assert set(info1["euiccCiPKIdListForSigning"]) == set(pkids)
    info2 = rsp().decode("EUICCInfo2", rig.client.call(bytes.fromhex("BF2200")))
    assert info2["euiccCiPKIdListForSigning"] == info1["euiccCiPKIdListForSigning"]
    resources = {t.tag: t.value for t in _tlvs(info2["extCardResource"])}
    assert resources[0x81] == b"\x00" and int.from_bytes(resources[0x82], "big") > 100_000
    rat = rsp().decode("GetRatResponse", rig.client.call(bytes.fromhex("BF4300")))["rat"]
    assert rat[0]["pprIds"] == bit_string(1, 2) and rat[0]["allowedOperators"] == [
        {"mccMnc": bytes.fromhex("EEEEEE")}
    ]


def _tlvs(data: bytes):
    offset = 0
    while offset < len(data):
        tlv = read_tlv(data, offset)
        yield tlv
        offset = tlv.end


@pytest.mark.parametrize(
    ("request_hex", "sw"),
    [("BF7700", 0x6A88), ("BF2D03A0015A", 0x6A80), ("BF31025A00", 0x6A80)],
)
def test_unknown_or_malformed_requests_get_status_words(rig, request_hex, sw):
    with pytest.raises(Es10TransportError) as refused:
        rig.client.call(bytes.fromhex(request_hex))
    assert refused.value.sw == sw
