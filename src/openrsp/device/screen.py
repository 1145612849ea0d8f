"""What the page shows: the EID, the network status and the profiles, as JSON for the browser."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from openrsp.device.network_status import NetworkStatus
from openrsp.hexutil import to_hex
from openrsp.lpa.core.es10 import ProfileInfo, ProfileMetadata

_POLICY_WORDS = {"ppr1": "cannot be turned off", "ppr2": "cannot be deleted"}
_CONSENT_WORDS = "Your eSIM's rules ask for your consent to these rules."
_ICON_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


def metadata_json(meta: ProfileMetadata) -> dict[str, Any]:
    """The fields a consent screen or a profile row shows (icon as a data: URL)."""
    icon = None
    if meta.icon and meta.icon_type in _ICON_TYPES:
        icon = f"data:{_ICON_TYPES[meta.icon_type]};base64,{base64.b64encode(meta.icon).decode()}"
    return {
        "iccid": meta.iccid,
        "name": meta.profile_name,
        "spn": meta.service_provider_name,
        "profileClass": meta.profile_class,
        "icon": icon,
        "policyRules": [{"rule": r, "words": _POLICY_WORDS.get(r, r)} for r in meta.policy_rules],
        "ownerMccMnc": meta.owner_mcc_mnc,
        "policyConsent": _CONSENT_WORDS if meta.policy_consent_required else None,
    }


def profile_json(profile: ProfileInfo) -> dict[str, Any]:
    return metadata_json(profile) | {
        "state": profile.state or "disabled",
        "nickname": profile.nickname or "",
        "isdpAid": to_hex(profile.isdp_aid) if profile.isdp_aid else None,
    }


@dataclass(frozen=True)
class Screen:
    """One look at the device: what the LPA read from the eUICC, and the network's word."""

    eid: str | None
    profiles: list[ProfileInfo] = field(default_factory=list)
    network: NetworkStatus = field(default_factory=NetworkStatus.no_service)

    def to_json(self) -> dict[str, Any]:
        return {
            "eid": self.eid,
            "network": self.network.to_json(),
            "profiles": [profile_json(p) for p in self.profiles],
        }
