"""EUICCInfo1 and EUICCInfo2 as this eUICC reports them (values for the rsp codec)."""

from __future__ import annotations

from typing import Any

from openrsp.asn1.tlv import encode_tlv
from openrsp.euicc.bits import encode_bits
from openrsp.euicc.state import PPR_NAMES, EuiccState

# What this card can do, by the UICCCapability / RspCapability bit names.
UICC_CAPABILITY_ORDER = (
    "contactlessSupport", "usimSupport", "isimSupport", "csimSupport", "akaMilenage", "akaCave",
    "akaTuak128", "akaTuak256", "usimTestAlgorithm", "rfu2", "gbaAuthenUsim", "gbaAuthenISim",
    "mbmsAuthenUsim", "eapClient", "javacard", "multos", "multipleUsimSupport", "multipleIsimSupport",
    "multipleCsimSupport", "berTlvFileSupport",
)  # fmt: skip
UICC_CAPABILITIES = ("usimSupport", "isimSupport", "akaMilenage", "javacard", "berTlvFileSupport")
RSP_CAPABILITY_ORDER = ("additionalProfile", "crlSupport", "rpmSupport", "testProfileSupport")
RSP_CAPABILITIES = ("additionalProfile", "testProfileSupport")


def version_bytes(text: str) -> bytes:
    """'2.2.2' -> 02 02 02 (VersionType: major, minor, revision)."""
    parts = [int(p) for p in text.split(".")]
    parts += [0] * (3 - len(parts))
    return bytes(parts[:3])


def _ci_lists(state: EuiccState) -> tuple[list[bytes], list[bytes]]:
    verification = [ci.pkid for ci in state.trusted_cis]
    signing = []
    for identity in state.identities:
        if identity.ci_pkid not in signing:
            signing.append(identity.ci_pkid)
    return verification, signing


def euicc_info1(state: EuiccState) -> dict[str, Any]:
    verification, signing = _ci_lists(state)
    return {
        "svn": version_bytes(state.info.svn),
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
    }


def _uint(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def ext_card_resource(state: EuiccState) -> bytes:
    """ETSI TS 102 226 extended card resource: 81 installed applications, 82 free NVM, 83 free RAM."""
    free_nvm = max(0, state.info.nvm_capacity - state.used_memory())
    return (
        encode_tlv(0x81, _uint(len(state.profiles)))
        + encode_tlv(0x82, _uint(free_nvm))
        + encode_tlv(0x83, _uint(state.info.volatile_free))
    )


def euicc_info2(state: EuiccState) -> dict[str, Any]:
    info = state.info
    verification, signing = _ci_lists(state)
    value: dict[str, Any] = {
        "profileVersion": version_bytes(info.profile_version),
        "svn": version_bytes(info.svn),
        "euiccFirmwareVer": version_bytes(info.firmware_version),
        "extCardResource": ext_card_resource(state),
        "uiccCapability": encode_bits(UICC_CAPABILITIES, UICC_CAPABILITY_ORDER),
        "ts102241Version": version_bytes(info.javacard_version),
        "globalplatformVersion": version_bytes(info.globalplatform_version),
        "rspCapability": encode_bits(RSP_CAPABILITIES, RSP_CAPABILITY_ORDER),
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
        "ppVersion": version_bytes(info.pp_version),
        "sasAcreditationNumber": info.sas_accreditation_number,
    }
    if info.forbidden_pprs:
        value["forbiddenProfilePolicyRules"] = encode_bits(info.forbidden_pprs, PPR_NAMES)
    return value
