"""ES9+ refusals the LPA must show to the user and not retry by itself: order not released, expired,
for another EID, or no order at all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from openrsp.lab.cases.checks import check, dut_said, no_bpp, no_session_loop, nothing_installed
from openrsp.lab.context import CaseContext
from openrsp.lab.model import Action, Check, Prepared, Step

OTHER_EID = "89001012012341234012345678909878"


def refusal(kind: str) -> Callable[[CaseContext], Prepared]:
    def prepare(ctx: CaseContext) -> Prepared:
        server = ctx.server
        if kind == "no-eligible-profile":
            code = f"LPA:1${server.address()}$LAB-NO-SUCH-ORDER-{server.port()}"
            return Prepared((Step(Action.DOWNLOAD, code),), {})
        iccid = server.new_profile(f"Lab refusal {kind}")
        options = {
            "not-released": {"release": False},
            "expired": {"expires_in": timedelta(minutes=-1)},
            "eid-mismatch": {"eid": OTHER_EID if ctx.card.eid != OTHER_EID else OTHER_EID[:-2] + "00"},
        }[kind]
        order = server.order(iccid, **options)  # type: ignore[arg-type]
        return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": iccid})

    return prepare


def judge_refusal(code: str) -> Callable[[CaseContext, Prepared], list[Check]]:
    def judge(ctx: CaseContext, p: Prepared) -> list[Check]:
        answers = [e.status for e in ctx.calls("authenticateClient")]
        return [
            dut_said(ctx, 0, False),
            check(f"authenticateClient refused with {code}", f"Failed {code}" in answers, str(answers)),
            no_bpp(ctx),
            no_session_loop(ctx, 1),
            *nothing_installed(ctx),
        ]

    return judge
