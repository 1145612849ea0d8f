"""ES10b GetRAT (SGP.22 §5.7.22): the Rules Authorisation Table the LPA checks PPRs against."""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import rsp
from openrsp.euicc.bits import encode_bits
from openrsp.euicc.core import Euicc
from openrsp.euicc.requests import decode_request
from openrsp.euicc.state import PPR_NAMES


def get_rat(euicc: Euicc, request: bytes) -> bytes:
    decode_request("GetRatRequest", request)
    rules = []
    for rule in euicc.state.rat:
        operators = []
        for op in rule.allowed_operators:
            entry: dict[str, Any] = {"mccMnc": op.mcc_mnc}
            if op.gid1 is not None:
                entry["gid1"] = op.gid1
            if op.gid2 is not None:
                entry["gid2"] = op.gid2
            operators.append(entry)
        rules.append(
            {
                "pprIds": encode_bits(rule.pprs, PPR_NAMES),
                "allowedOperators": operators,
                "pprFlags": encode_bits(
                    ["consentRequired"] if rule.consent_required else [], ["consentRequired"]
                ),
            }
        )
    return rsp().encode("GetRatResponse", {"rat": rules})
