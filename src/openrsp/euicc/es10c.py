"""ES10c local profile management (SGP.22 §5.9).

GetProfilesInfo, EnableProfile, DisableProfile, DeleteProfile, eUICCMemoryReset, GetEID,
SetNickname: request DER in, response DER out. Changes go through one state transaction each, with their notifications.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import DeleteResult, DisableResult, EnableResult, iccid_from_bytes, iccid_to_bytes
from openrsp.asn1.tlv import TlvError, read_tag
from openrsp.euicc.bits import decode_bits, encode_bits
from openrsp.euicc.core import Euicc
from openrsp.euicc.notifications import build_other_notification, store_notification
from openrsp.euicc.policy import may_delete, may_disable, may_replace_enabled
from openrsp.euicc.requests import decode_request
from openrsp.euicc.state import (
    CLASS_OPERATIONAL,
    CLASS_TEST,
    EVENTS,
    PPR_NAMES,
    STATE_DISABLED,
    STATE_ENABLED,
    EuiccState,
    Profile,
)

# ProfileInfo fields by tag, in ASN.1 order: what a tag list may ask for.
PROFILE_INFO_TAGS: dict[int, str] = {
    0x5A: "iccid",
    0x4F: "isdpAid",
    0x9F70: "profileState",
    0x90: "profileNickname",
    0x91: "serviceProviderName",
    0x92: "profileName",
    0x93: "iconType",
    0x94: "icon",
    0x95: "profileClass",
    0xB6: "notificationConfigurationInfo",
    0xB7: "profileOwner",
    0xB8: "dpProprietaryData",
    0x99: "profilePolicyRules",
}
RESET_OPTIONS = ("deleteOperationalProfiles", "deleteFieldLoadedTestProfiles", "resetDefaultSmdpAddress")


# --- GetProfilesInfo ---------------------------------------------------------------------------
def profile_info(profile: Profile) -> dict[str, Any]:
    """Every ProfileInfo field this profile has."""
    info: dict[str, Any] = {
        "iccid": iccid_to_bytes(profile.iccid),
        "isdpAid": profile.isdp_aid,
        "profileState": profile.state,
        "serviceProviderName": profile.service_provider_name,
        "profileName": profile.profile_name,
        "profileClass": profile.profile_class,
    }
    if profile.nickname is not None:
        info["profileNickname"] = profile.nickname
    if profile.icon_type is not None and profile.icon is not None:
        info["iconType"] = profile.icon_type
        info["icon"] = profile.icon
    if profile.notification_config:
        info["notificationConfigurationInfo"] = [
            {"profileManagementOperation": encode_bits(c.events, EVENTS), "notificationAddress": c.address}
            for c in profile.notification_config
        ]
    if profile.profile_owner is not None:
        owner: dict[str, Any] = {"mccMnc": profile.profile_owner.mcc_mnc}
        if profile.profile_owner.gid1 is not None:
            owner["gid1"] = profile.profile_owner.gid1
        if profile.profile_owner.gid2 is not None:
            owner["gid2"] = profile.profile_owner.gid2
        info["profileOwner"] = owner
    if profile.dp_proprietary_data is not None:
        info["dpProprietaryData"] = rsp().decode(
            "DpProprietaryData", b"\x30" + profile.dp_proprietary_data[1:]
        )
    if profile.ppr:
        info["profilePolicyRules"] = encode_bits(profile.ppr, PPR_NAMES)
    return info


def _parse_tag_list(data: bytes) -> list[int]:
    tags = []
    offset = 0
    while offset < len(data):
        tag, offset = read_tag(data, offset)
        tags.append(tag)
    return tags


def get_profiles_info(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("ProfileInfoListRequest", request)
    wanted: set[str] | None = None
    if "tagList" in value:
        try:
            tags = _parse_tag_list(value["tagList"])
        except TlvError:
            return rsp().encode("ProfileInfoListResponse", ("profileInfoListError", 1))
        if any(tag not in PROFILE_INFO_TAGS for tag in tags):
            return rsp().encode("ProfileInfoListResponse", ("profileInfoListError", 1))
        wanted = {PROFILE_INFO_TAGS[tag] for tag in tags}
    profiles = euicc.state.profiles
    criteria = value.get("searchCriteria")
    if criteria is not None:
        kind, key = criteria
        if kind == "isdpAid":
            profiles = [p for p in profiles if p.isdp_aid == key]
        elif kind == "iccid":
            profiles = [p for p in profiles if p.iccid == iccid_from_bytes(key)]
        else:
            profiles = [p for p in profiles if p.profile_class == key]
    items = []
    for profile in profiles:
        info = profile_info(profile)
        if wanted is not None:
            info = {name: field for name, field in info.items() if name in wanted}
        items.append(info)
    return rsp().encode("ProfileInfoListResponse", ("profileInfoListOk", items))


# --- Enable / Disable / Delete -------------------------------------------------------------------
def _find(state: EuiccState, identifier: tuple[str, bytes]) -> Profile | None:
    kind, key = identifier
    if kind == "isdpAid":
        return state.profile_by_aid(key)
    return state.profile_by_iccid(iccid_from_bytes(key))


def enable_profile(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("EnableProfileRequest", request)
    result = _enable(euicc, value["profileIdentifier"])
    return rsp().encode("EnableProfileResponse", {"enableResult": result})


def _enable(euicc: Euicc, identifier: tuple[str, bytes]) -> int:
    target = _find(euicc.state, identifier)
    if target is None:
        return EnableResult.iccidOrAidNotFound
    if target.enabled:
        return EnableResult.profileNotInDisabledState
    current = euicc.state.enabled_profile()
    if current is not None and not may_replace_enabled(current, target):
        return EnableResult.disallowedByPolicy
    with euicc.transaction() as state:
        if current is not None:
            previous = state.profile_by_aid(current.isdp_aid)
            assert previous is not None
            previous.state = STATE_DISABLED
            store_notification(state, build_other_notification(euicc, state, previous, "disable"))
        chosen = state.profile_by_aid(target.isdp_aid)
        assert chosen is not None
        chosen.state = STATE_ENABLED
        store_notification(state, build_other_notification(euicc, state, chosen, "enable"))
    return EnableResult.ok


def disable_profile(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("DisableProfileRequest", request)
    target = _find(euicc.state, value["profileIdentifier"])
    if target is None:
        result = DisableResult.iccidOrAidNotFound
    elif not target.enabled:
        result = DisableResult.profileNotInEnabledState
    elif not may_disable(target):
        result = DisableResult.disallowedByPolicy
    else:
        with euicc.transaction() as state:
            profile = state.profile_by_aid(target.isdp_aid)
            assert profile is not None
            profile.state = STATE_DISABLED
            store_notification(state, build_other_notification(euicc, state, profile, "disable"))
        result = DisableResult.ok
    return rsp().encode("DisableProfileResponse", {"disableResult": result})


def delete_profile(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("DeleteProfileRequest", request)
    target = _find(euicc.state, value)
    if target is None:
        result = DeleteResult.iccidOrAidNotFound
    elif target.enabled:
        result = DeleteResult.profileNotInDisabledState
    elif not may_delete(target):
        result = DeleteResult.disallowedByPolicy
    else:
        with euicc.transaction() as state:
            profile = state.profile_by_aid(target.isdp_aid)
            assert profile is not None
            state.profiles.remove(profile)
            store_notification(state, build_other_notification(euicc, state, profile, "delete"))
        result = DeleteResult.ok
    return rsp().encode("DeleteProfileResponse", {"deleteResult": result})


# --- eUICCMemoryReset ----------------------------------------------------------------------------
def euicc_memory_reset(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("EuiccMemoryResetRequest", request)
    options = decode_bits(value["resetOptions"], RESET_OPTIONS)
    doomed_classes = set()
    if "deleteOperationalProfiles" in options:
        doomed_classes.add(CLASS_OPERATIONAL)
    if "deleteFieldLoadedTestProfiles" in options:
        doomed_classes.add(CLASS_TEST)
    doomed = [p.isdp_aid for p in euicc.state.profiles if p.profile_class in doomed_classes]
    reset_address = "resetDefaultSmdpAddress" in options and euicc.state.default_smdp is not None
    euicc.end_session()  # whatever download was under way goes with the memory
    if not doomed and not reset_address:
        return rsp().encode("EuiccMemoryResetResponse", {"resetResult": 1})
    with euicc.transaction() as state:
        # PPRs do not hold against a memory reset, and it sends no notifications (SGP.22 §5.9.7).
        state.profiles = [p for p in state.profiles if p.isdp_aid not in doomed]
        if reset_address:
            state.default_smdp = None
    return rsp().encode("EuiccMemoryResetResponse", {"resetResult": 0})


# --- GetEID, SetNickname -------------------------------------------------------------------------
def get_eid(euicc: Euicc, request: bytes) -> bytes:
    decode_request("GetEuiccDataRequest", request)
    return rsp().encode("GetEuiccDataResponse", {"eidValue": bytes.fromhex(euicc.state.eid)})


def set_nickname(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("SetNicknameRequest", request)
    iccid = iccid_from_bytes(value["iccid"])
    if euicc.state.profile_by_iccid(iccid) is None:
        return rsp().encode("SetNicknameResponse", {"setNicknameResult": 1})
    with euicc.transaction() as state:
        profile = state.profile_by_iccid(iccid)
        assert profile is not None
        profile.nickname = value["profileNickname"]
    return rsp().encode("SetNicknameResponse", {"setNicknameResult": 0})
