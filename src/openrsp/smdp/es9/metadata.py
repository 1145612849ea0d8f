"""The profile metadata the user sees before downloading: StoreMetadataRequest (BF25), from the
inventory row of the profile (SGP.22 §5.5.3). The same bytes go into authenticateClient's
profileMetadata and into the bound profile package's StoreMetadata segments.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import IconType, NotificationEvent, ProfileClass, bit_string, iccid_to_bytes
from openrsp.smdp.es9.views import ProfileView
from openrsp.smdp.profile_policy import ppr_bits, profile_pprs

# Which operations the eUICC reports back to this SM-DP+ (profile.extra["notify"] overrides).
DEFAULT_NOTIFY = ("install", "enable", "disable", "delete")
_EVENTS = {
    "install": NotificationEvent.INSTALL,
    "enable": NotificationEvent.ENABLE,
    "disable": NotificationEvent.DISABLE,
    "delete": NotificationEvent.DELETE,
}
_MAX_SPN = 32
_MAX_NAME = 64


def _clip(text: str | None, size: int) -> str:
    """UTF-8 text cut to `size` bytes without splitting a character."""
    data = (text or "").encode("utf-8")[:size]
    return data.decode("utf-8", errors="ignore")


def store_metadata_value(profile: ProfileView, notification_address: str) -> dict[str, Any]:
    """The StoreMetadataRequest as an asn1tools value."""
    value: dict[str, Any] = {
        "iccid": iccid_to_bytes(profile.iccid),
        "serviceProviderName": _clip(profile.spn, _MAX_SPN),
        "profileName": _clip(profile.profile_name or profile.iccid, _MAX_NAME),
    }
    if profile.icon and profile.icon_type in IconType.__members__:
        value["iconType"] = int(IconType[profile.icon_type])
        value["icon"] = bytes(profile.icon)
    pprs = profile_pprs(profile.extra)
    if pprs:
        value["profilePolicyRules"] = ppr_bits(pprs)
        owner = (profile.extra or {}).get("owner")
        if owner:  # the eUICC checks PPRs against its RAT for this owner (SGP.22 §2.9.2)
            value["profileOwner"] = {"mccMnc": bytes.fromhex(owner)}
    profile_class = profile.profile_class or "operational"
    if profile_class in ProfileClass.__members__:
        value["profileClass"] = int(ProfileClass[profile_class])
    notify = (profile.extra or {}).get("notify", DEFAULT_NOTIFY)
    events = [_EVENTS[name] for name in notify if name in _EVENTS]
    if events and notification_address:
        value["notificationConfigurationInfo"] = [
            {"profileManagementOperation": bit_string(*events), "notificationAddress": notification_address}
        ]
    return value


def store_metadata(profile: ProfileView, notification_address: str) -> bytes:
    """StoreMetadataRequest DER (BF25) for this profile; notifications go to notification_address."""
    return rsp().encode("StoreMetadataRequest", store_metadata_value(profile, notification_address))
