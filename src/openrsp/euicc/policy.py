"""Profile policy rules (PPR1, PPR2), the rules authorisation table and the profile-class rules.

Rules this eUICC applies, in one place:
- PPRs may only come with an operational profile, only if the eUICC does not forbid them, and only
  if a RAT rule allows each of them for the profile owner ('E' nibbles of a RAT mccMnc match any digit).
- PPR1: an enabled profile with PPR1 is not disabled, neither directly nor by enabling another one
  (a provisioning profile is the exception: it may take over, SGP.22 §2.9).
- PPR2: a profile with PPR2 is not deleted (eUICCMemoryReset ignores PPRs).
- A provisioning profile is shipped by the manufacturer: ES10c DeleteProfile refuses it and
  eUICCMemoryReset keeps it.
"""

from __future__ import annotations

from openrsp.euicc.state import (
    CLASS_OPERATIONAL,
    CLASS_PROVISIONING,
    EuiccState,
    OperatorId,
    Profile,
    RatRule,
)

ENFORCED_PPRS = ("ppr1", "ppr2")


def default_rat() -> list[RatRule]:
    """Consumer default: PPR1 and PPR2 allowed for any operator, with the end user's consent."""
    return [RatRule(["ppr1", "ppr2"], [OperatorId(bytes.fromhex("EEEEEE"))], consent_required=True)]


def _nibbles(data: bytes) -> str:
    return data.hex().upper()


def operator_matches(allowed: OperatorId, owner: OperatorId) -> bool:
    pattern, actual = _nibbles(allowed.mcc_mnc), _nibbles(owner.mcc_mnc)
    if len(pattern) != len(actual) or any(p not in ("E", a) for p, a in zip(pattern, actual, strict=True)):
        return False
    if allowed.gid1 is not None and allowed.gid1 != owner.gid1:
        return False
    return allowed.gid2 is None or allowed.gid2 == owner.gid2


def ppr_allowed(state: EuiccState, pprs: list[str], profile_class: int, owner: OperatorId | None) -> bool:
    """May a profile with these PPRs be installed (StoreMetadata)?"""
    rules = [p for p in pprs if p in ENFORCED_PPRS]
    if not rules:
        return True
    if profile_class != CLASS_OPERATIONAL or owner is None:
        return False
    for ppr in rules:
        if ppr in state.info.forbidden_pprs:
            return False
        if not any(
            ppr in rule.pprs and any(operator_matches(op, owner) for op in rule.allowed_operators)
            for rule in state.rat
        ):
            return False
    return True


def may_disable(profile: Profile) -> bool:
    return "ppr1" not in profile.ppr


def may_replace_enabled(current: Profile, newcomer: Profile) -> bool:
    """Enabling `newcomer` disables `current`: allowed unless PPR1 protects it."""
    return may_disable(current) or newcomer.profile_class == CLASS_PROVISIONING


def may_delete(profile: Profile) -> bool:
    return "ppr2" not in profile.ppr and profile.profile_class != CLASS_PROVISIONING
