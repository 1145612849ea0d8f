"""What `openrsp euicc info` shows: the eUICC state as lpac-like JSON and as text lines."""

from __future__ import annotations

from typing import Any

from openrsp.euicc.state import CLASS_NAMES, EuiccState
from openrsp.hexutil import to_hex


def euicc_summary(state: EuiccState) -> dict[str, Any]:
    """EID, addresses, profiles and pending notifications, with lpac's field names."""
    return {
        "eidValue": state.eid,
        "defaultDpAddress": state.default_smdp,
        "rootDsAddress": state.root_smds,
        "euiccCiPKIdListForVerification": [to_hex(ci.pkid) for ci in state.trusted_cis],
        "euiccCiPKIdListForSigning": list(dict.fromkeys(to_hex(i.ci_pkid) for i in state.identities)),
        "profiles": [
            {
                "iccid": p.iccid,
                "isdpAid": to_hex(p.isdp_aid),
                "profileState": "enabled" if p.enabled else "disabled",
                "profileNickname": p.nickname,
                "serviceProviderName": p.service_provider_name,
                "profileName": p.profile_name,
                "profileClass": CLASS_NAMES.get(p.profile_class, str(p.profile_class)),
            }
            for p in state.profiles
        ],
        "notifications": [
            {
                "seqNumber": n.seq_number,
                "profileManagementOperation": n.event,
                "notificationAddress": n.address,
                "iccid": n.iccid,
            }
            for n in state.notifications
        ],
    }


def summary_lines(state: EuiccState) -> list[str]:
    info = euicc_summary(state)
    lines = [
        f"EID             {info['eidValue']}",
        f"default SM-DP+  {info['defaultDpAddress'] or '-'}",
        f"root SM-DS      {info['rootDsAddress'] or '-'}",
        f"CI (verify)     {', '.join(info['euiccCiPKIdListForVerification'])}",
        f"CI (sign)       {', '.join(info['euiccCiPKIdListForSigning'])}",
        f"profiles        {len(info['profiles'])}",
    ]
    if state.strict:
        lines.insert(5, "mode            strict (refuses segments over SGP.22's 1020 bytes)")
    for p in info["profiles"]:
        nickname = f' "{p["profileNickname"]}"' if p["profileNickname"] else ""
        lines.append(
            f"  {p['iccid']:<20} {p['profileState']:<8} {p['profileClass']:<12} "
            f"{p['serviceProviderName'] or '-'} / {p['profileName'] or '-'}{nickname}"
        )
    lines.append(f"notifications   {len(info['notifications'])} pending")
    for n in info["notifications"]:
        lines.append(
            f"  #{n['seqNumber']:<4} {n['profileManagementOperation']:<8} {n['iccid'] or '-':<20} "
            f"-> {n['notificationAddress']}"
        )
    return lines
