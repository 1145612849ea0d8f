"""The LPA's profile policy rule check before consent (SGP.22 §2.9.2, §3.1.3.2, LPA side).

A profile offered with PPR1/PPR2 in its metadata may be installed only if the eUICC's rules
authorisation table (ES10b GetRAT) has a rule allowing each of them for the profile's owner (the
`E` nibbles of a RAT mccMnc match any digit; gid1/gid2, when the rule names them, must be equal),
and only for an operational profile. If not, the LPA does not ask for consent: it cancels the
session with reason pprNotAllowed. If a rule that allows one of them says consentRequired, the
user must be told what the rules mean and agree. Pure: RAT and metadata in, verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openrsp.asn1.rsp_types import bits_set
from openrsp.lpa.core.es10 import ProfileMetadata

PPR_NAMES = ("pprUpdateControl", "ppr1", "ppr2")
CHECKED_PPRS = ("ppr1", "ppr2")
PPR_MEANING = {
    "ppr1": "the profile cannot be disabled once it is enabled",
    "ppr2": "the profile cannot be deleted",
}


@dataclass(frozen=True)
class RatRule:
    """One ProfilePolicyAuthorisationRule of the RAT."""

    pprs: tuple[str, ...]
    operators: tuple[tuple[bytes, bytes | None, bytes | None], ...]  # (mccMnc, gid1, gid2)
    consent_required: bool


@dataclass(frozen=True)
class PprVerdict:
    rules: tuple[str, ...]  # the PPRs the profile carries (ppr1, ppr2)
    allowed: bool
    consent_required: bool = False
    refused: tuple[str, ...] = ()  # the PPRs no RAT rule allows
    reason: str = ""
    meanings: list[str] = field(default_factory=list)


def rat_from_response(value: dict[str, Any]) -> list[RatRule]:
    """GetRatResponse (decoded) → the rules."""
    rules = []
    for item in value.get("rat", []):
        bits = bits_set(item["pprIds"])
        operators = tuple(
            (op["mccMnc"], op.get("gid1"), op.get("gid2")) for op in item.get("allowedOperators", [])
        )
        consent = 0 in bits_set(item["pprFlags"])
        rules.append(RatRule(tuple(n for i, n in enumerate(PPR_NAMES) if i in bits), operators, consent))
    return rules


def _operator_matches(allowed: tuple[bytes, bytes | None, bytes | None], owner: bytes) -> bool:
    pattern, actual = allowed[0].hex().upper(), owner.hex().upper()
    if len(pattern) != len(actual):
        return False
    # gid1/gid2 of the owner are not in StoreMetadata's profileOwner here: a rule naming them
    # cannot be shown to match, so it does not.
    if allowed[1] is not None or allowed[2] is not None:
        return False
    return all(p in ("E", a) for p, a in zip(pattern, actual, strict=True))


def check_pprs(metadata: ProfileMetadata, rat: list[RatRule]) -> PprVerdict:
    """May a profile with this metadata be installed under this RAT, and is consent required?"""
    rules = tuple(r for r in metadata.policy_rules if r in CHECKED_PPRS)
    meanings = [f"{r}: {PPR_MEANING[r]}" for r in rules]
    if not rules:
        return PprVerdict(rules, True)
    if metadata.profile_class != "operational":
        return PprVerdict(rules, False, refused=rules, reason="only an operational profile may carry PPRs")
    owner = bytes.fromhex(metadata.owner_mcc_mnc) if metadata.owner_mcc_mnc else None
    if owner is None:
        return PprVerdict(
            rules, False, refused=rules, reason="the profile names no owner to check the rules against"
        )
    refused, consent = [], False
    for ppr in rules:
        allowing = [
            rule
            for rule in rat
            if ppr in rule.pprs and any(_operator_matches(op, owner) for op in rule.operators)
        ]
        if not allowing:
            refused.append(ppr)
        consent = consent or any(rule.consent_required for rule in allowing)
    if refused:
        reason = (
            f"this eUICC's rules authorisation table does not allow {', '.join(refused)} for this operator"
        )
        return PprVerdict(rules, False, refused=tuple(refused), reason=reason, meanings=meanings)
    return PprVerdict(rules, True, consent_required=consent, meanings=meanings)
