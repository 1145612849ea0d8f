"""The JSON the `openrsp lpa --json` commands print, in lpac's shape and with lpac's field names.

lpac prints one object per command: {"type": "lpa", "payload": {"code": 0, "message": "success",
"data": ...}}, and on failure code -1 with the failing call's name as message and a detail string as
data. Field names inside data follow SGP.22's ASN.1 (eidValue, iccid, isdpAid, profileState, ...), as
lpac does; hex is uppercase (openrsp's convention), icons are base64.
"""

from __future__ import annotations

import base64
from typing import Any

from openrsp.asn1.rsp_types import bits_set
from openrsp.asn1.tlv import TlvError, iter_tlvs
from openrsp.errors import InputError
from openrsp.hexutil import to_hex
from openrsp.lpa.core.errors import LpaError
from openrsp.lpa.core.es10 import ConfiguredAddresses, NotificationMetadata, ProfileInfo, ProfileMetadata
from openrsp.lpa.core.lpd import DownloadResult
from openrsp.lpa.core.notifications import NotificationOutcome
from openrsp.lpa.drivers.es10_client import Es10TransportError
from openrsp.lpa.drivers.es11_client import EventEntry
from openrsp.lpa.drivers.transport import TransportError

# Named bits of the EUICCInfo2 BIT STRINGs, in bit order (RSPDefinitions).
UICC_CAPABILITY = (
    "contactlessSupport", "usimSupport", "isimSupport", "csimSupport", "akaMilenage", "akaCave",
    "akaTuak128", "akaTuak256", "usimTestAlgorithm", "rfu2", "gbaAuthenUsim", "gbaAuthenISim",
    "mbmsAuthenUsim", "eapClient", "javacard", "multos", "multipleUsimSupport", "multipleIsimSupport",
    "multipleCsimSupport", "berTlvFileSupport", "dfLinkSupport", "catTp", "getIdentity",
    "profile-a-x25519", "profile-b-p256", "suciCalculatorApi", "dns-resolution", "scp11ac",
    "scp11c-authorization-mechanism", "s16mode", "eaka", "iotminimal",
)  # fmt: skip
RSP_CAPABILITY = (
    "additionalProfile", "crlSupport", "rpmSupport", "testProfileSupport",
    "deviceInfoExtensibilitySupport", "serviceSpecificDataSupport",
)  # fmt: skip
PPR_IDS = ("pprUpdateControl", "ppr1", "ppr2")
TRE_PROPERTIES = ("isDiscrete", "isIntegrated", "usesRemoteMemory")
EUICC_CATEGORY = {0: "other", 1: "basicEuicc", 2: "mediumEuicc", 3: "contactlessEuicc"}


# --- envelopes -------------------------------------------------------------------------------------


def success(data: Any) -> dict[str, Any]:
    return {"type": "lpa", "payload": {"code": 0, "message": "success", "data": data}}


def failure(error: Exception) -> dict[str, Any]:
    """lpac's error shape: message = the failing call, data = what went wrong in words."""
    step = error.step if isinstance(error, LpaError) else _step_of(error)
    detail = " ".join([str(error), *getattr(error, "__notes__", [])])
    payload: dict[str, Any] = {"code": -1, "message": step, "data": detail}
    if isinstance(error, LpaError) and error.details():
        payload["details"] = error.details()  # openrsp addition: the codes, machine-readable
    return {"type": "lpa", "payload": payload}


def _step_of(error: Exception) -> str:
    if isinstance(error, InputError):
        return "input"
    if isinstance(error, (TransportError, Es10TransportError)):
        return "apdu"  # lpac's name for the card link
    return "error"


# --- values ----------------------------------------------------------------------------------------


def version(value: bytes | None) -> str | None:
    return None if value is None else ".".join(str(b) for b in value)


def bit_names(value: tuple[bytes, int] | None, names: tuple[str, ...]) -> list[str] | None:
    if value is None:
        return None
    return [names[i] if i < len(names) else f"bit{i}" for i in sorted(bits_set(value))]


def ext_card_resource(data: bytes) -> dict[str, int | None]:
    """ETSI TS 102 226 extended card resource: 81 installed applications, 82 free NVM, 83 free RAM."""
    fields = {0x81: "installedApplication", 0x82: "freeNonVolatileMemory", 0x83: "freeVolatileMemory"}
    result: dict[str, int | None] = dict.fromkeys(fields.values())
    try:
        for tlv in iter_tlvs(data):
            if tlv.tag in fields:
                result[fields[tlv.tag]] = int.from_bytes(tlv.value, "big")
    except TlvError:
        pass  # a malformed resource block shows as unknown values
    return result


def euicc_info2(value: dict[str, Any]) -> dict[str, Any]:
    certification = value.get("certificationDataObject")
    category = value.get("euiccCategory")
    return {
        "profileVersion": version(value.get("profileVersion")),
        "svn": version(value.get("svn")),
        "euiccFirmwareVer": version(value.get("euiccFirmwareVer")),
        "extCardResource": ext_card_resource(value.get("extCardResource", b"")),
        "uiccCapability": bit_names(value.get("uiccCapability"), UICC_CAPABILITY),
        "ts102241Version": version(value.get("ts102241Version")),
        "globalplatformVersion": version(value.get("globalplatformVersion")),
        "rspCapability": bit_names(value.get("rspCapability"), RSP_CAPABILITY),
        "euiccCiPKIdListForVerification": [
            to_hex(k) for k in value.get("euiccCiPKIdListForVerification", [])
        ],
        "euiccCiPKIdListForSigning": [to_hex(k) for k in value.get("euiccCiPKIdListForSigning", [])],
        "euiccCategory": None if category is None else EUICC_CATEGORY.get(category, f"unknown({category})"),
        "forbiddenProfilePolicyRules": bit_names(value.get("forbiddenProfilePolicyRules"), PPR_IDS),
        "ppVersion": version(value.get("ppVersion")),
        "sasAcreditationNumber": value.get("sasAcreditationNumber"),
        "certificationDataObject": dict(certification) if certification else None,
        "treProperties": bit_names(value.get("treProperties"), TRE_PROPERTIES),
        "treProductReference": value.get("treProductReference"),
    }


def chip_info(eid: str, addresses: ConfiguredAddresses, info2: dict[str, Any]) -> dict[str, Any]:
    return {
        "eidValue": eid,
        "EuiccConfiguredAddresses": {
            "defaultDpAddress": addresses.default_dp_address,
            "rootDsAddress": addresses.root_ds_address,
        },
        "EUICCInfo2": euicc_info2(info2),
    }


def metadata(meta: ProfileMetadata) -> dict[str, Any]:
    return {
        "iccid": meta.iccid,
        "serviceProviderName": meta.service_provider_name,
        "profileName": meta.profile_name,
        "iconType": meta.icon_type or "none",
        "icon": base64.b64encode(meta.icon).decode() if meta.icon else None,
        "profileClass": meta.profile_class,
        "profilePolicyRules": meta.policy_rules,
    }


def profile(info: ProfileInfo) -> dict[str, Any]:
    return {
        "iccid": info.iccid,
        "isdpAid": to_hex(info.isdp_aid) if info.isdp_aid else None,
        "profileState": info.state,
        "profileNickname": info.nickname,
        "serviceProviderName": info.service_provider_name,
        "profileName": info.profile_name,
        "iconType": info.icon_type or "none",
        "icon": base64.b64encode(info.icon).decode() if info.icon else None,
        "profileClass": info.profile_class,
    }


def notification(meta: NotificationMetadata) -> dict[str, Any]:
    return {
        "seqNumber": meta.seq_number,
        "profileManagementOperation": meta.operation,
        "notificationAddress": meta.address,
        "iccid": meta.iccid,
    }


def outcome(result: NotificationOutcome) -> dict[str, Any]:
    return notification(result.metadata) | {
        "delivered": result.delivered,
        "removed": result.removed,
        "error": str(result.error) if result.error else None,
        "warning": str(result.warning) if result.warning else None,
    }


def download(result: DownloadResult) -> dict[str, Any]:
    install = result.install
    return {
        "iccid": install.iccid or result.metadata.iccid,
        "isdpAid": to_hex(install.isdp_aid) if install.isdp_aid else None,
        "seqNumber": install.seq_number,
        "bppCommandId": install.bpp_command,
        "errorReason": install.error_reason,
        "profile": metadata(result.metadata),
        "notification": outcome(result.notification) if result.notification else None,
    }


def event(entry: EventEntry) -> dict[str, Any]:
    """One event of `profile discovery`, with the field names of SGP.22's eventEntries (as lpac prints them)."""
    return {"eventId": entry.event_id, "rspServerAddress": entry.rsp_server_address}
