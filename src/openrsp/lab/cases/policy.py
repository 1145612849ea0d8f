"""Profile policy rules: a profile with PPR1 offered to a device whose rules authorisation table (RAT)
does not allow PPR1. The SM-DP+ offers it (the eUICC's EUICCInfo2 does not forbid PPR1, so it is an
eligible profile); the LPA must read the RAT (ES10b GetRAT) after authenticateClient, refuse before
asking for consent, and cancel the session with reason pprNotAllowed (SGP.22 §2.9.2, §3.1.3.2).
"""

from __future__ import annotations

from typing import Any

from openrsp.lab.cases.checks import check, dut_said, no_bpp, no_session_loop, nothing_installed, order_state
from openrsp.lab.context import CaseContext
from openrsp.lab.model import Action, Check, Prepared, Step

PPR = "ppr1"


def ppr_not_allowed(ctx: CaseContext) -> Prepared:
    if ctx.card.directory is None:
        return Prepared((), not_applicable="needs a card whose RAT the lab can set (--card virtual or pcsc)")
    iccid = ctx.server.new_profile("Lab PPR1", pprs=(PPR,))
    order = ctx.server.order(iccid)
    previous = set_rat(ctx, without=PPR)
    return Prepared(
        (Step(Action.DOWNLOAD, order.activation_code, note="the device must refuse this profile"),),
        {"iccid": iccid},
        cleanup=lambda: restore_rat(ctx, previous),
    )


def set_rat(ctx: CaseContext, *, without: str) -> list[dict[str, Any]]:
    """Take `without` out of every rule of the eUICC's RAT, as an EUM could have issued it; the RAT
    it had before (as its JSON)."""
    from openrsp.euicc.store import open_euicc

    assert ctx.card.directory is not None
    with open_euicc(ctx.card.directory).transaction() as state:
        previous = [rule.to_json() for rule in state.rat]
        for rule in state.rat:
            rule.pprs = [p for p in rule.pprs if p != without]
    return previous


def restore_rat(ctx: CaseContext, rules: list[dict[str, Any]]) -> None:
    from openrsp.euicc.state import RatRule
    from openrsp.euicc.store import open_euicc

    assert ctx.card.directory is not None
    with open_euicc(ctx.card.directory).transaction() as state:
        state.rat = [RatRule.from_json(rule) for rule in rules]


def judge_ppr_not_allowed(ctx: CaseContext, p: Prepared) -> list[Check]:
    offered = [e.status for e in ctx.calls("authenticateClient")]
    reasons = [e.request.get("reason") for e in ctx.calls("cancelSession")]
    return [
        dut_said(ctx, 0, False),
        check(
            "the SM-DP+ offered the PPR1 profile (authenticateClient executed)",
            "Executed-Success" in offered,
            str(offered),
        ),
        check("cancelSession with reason pprNotAllowed", "pprNotAllowed" in reasons, f"reasons: {reasons}"),
        no_bpp(ctx),
        no_session_loop(ctx, 1),
        *nothing_installed(ctx),
        order_state(ctx, p.facts["iccid"], "Error"),  # the cancellation reached the SM-DP+: order ended
    ]
