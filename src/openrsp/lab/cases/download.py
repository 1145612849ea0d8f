"""Downloads that should work: nominal, with a confirmation code (right, wrong then right, too many
wrong), and from the eUICC's default SM-DP+."""

from __future__ import annotations

from openrsp.lab.cases.checks import (
    check,
    dut_said,
    installed_once,
    no_session_loop,
    nothing_installed,
    order_state,
)
from openrsp.lab.context import CaseContext
from openrsp.lab.model import Action, Check, Prepared, Step

WRONG_CODE, RIGHT_CODE = "0000", "4711"


def nominal(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab nominal"))
    return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": order.iccid})


def judge_nominal(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid = p.facts["iccid"]
    flow = ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification"]
    seen = ctx.functions()
    return [
        dut_said(ctx, 0, True),
        check("ES9+ calls in SGP.22 order", seen[:4] == flow, " → ".join(seen)),
        *installed_once(ctx, iccid),
        order_state(ctx, iccid, "Installed"),
    ]


def with_code(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab CC"), cc=RIGHT_CODE)
    step = Step(Action.DOWNLOAD, order.activation_code, RIGHT_CODE, note=f"enter the code {RIGHT_CODE}")
    return Prepared((step,), {"iccid": order.iccid})


def judge_with_code(ctx: CaseContext, p: Prepared) -> list[Check]:
    bpp = ctx.calls("getBoundProfilePackage")
    return [
        dut_said(ctx, 0, True),
        check(
            "hashCc sent in getBoundProfilePackage", any(e.request.get("hashCc") == "present" for e in bpp)
        ),
        *installed_once(ctx, p.facts["iccid"]),
        order_state(ctx, p.facts["iccid"], "Installed"),
    ]


def wrong_then_right(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab CC retry"), cc=RIGHT_CODE)
    steps = (
        Step(Action.DOWNLOAD, order.activation_code, WRONG_CODE, note=f"enter the WRONG code {WRONG_CODE}"),
        Step(Action.DOWNLOAD, order.activation_code, RIGHT_CODE, note=f"then the right code {RIGHT_CODE}"),
    )
    return Prepared(steps, {"iccid": order.iccid})


def judge_wrong_then_right(ctx: CaseContext, p: Prepared) -> list[Check]:
    statuses = [e.status for e in ctx.calls("getBoundProfilePackage")]
    return [
        dut_said(ctx, 0, False),
        check("the wrong code is refused (8.2.7/3.8)", "Failed 8.2.7/3.8" in statuses, str(statuses)),
        dut_said(ctx, 1, True),
        *installed_once(ctx, p.facts["iccid"]),
        order_state(ctx, p.facts["iccid"], "Installed"),
    ]


def too_many_wrong(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab CC locked"), cc=RIGHT_CODE, cc_attempts=2)
    step = Step(Action.DOWNLOAD, order.activation_code, WRONG_CODE, note=f"enter the WRONG code {WRONG_CODE}")
    return Prepared((step, step, step), {"iccid": order.iccid})


def judge_too_many_wrong(ctx: CaseContext, p: Prepared) -> list[Check]:
    last = ctx.calls("authenticateClient")[-1:] or ctx.calls("getBoundProfilePackage")[-1:]
    final = last[0].status if last else "nothing"
    locked = final in ("Failed 8.8.5/6.4", "Failed 8.2.7/6.4")
    return [
        *(dut_said(ctx, i, False) for i in range(3)),
        check("the third attempt is refused: attempts exhausted", locked, final),
        no_session_loop(ctx, 3),
        *nothing_installed(ctx),
    ]


def default_smdp(ctx: CaseContext) -> Prepared:
    eid = ctx.card.eid
    if eid is None:
        return Prepared((), not_applicable="needs a card the lab can configure (--card virtual or pcsc)")
    iccid = ctx.server.new_profile("Lab default SM-DP+")
    ctx.server.order(iccid, eid=eid, matching_id="")
    previous = set_default_smdp(ctx, ctx.server.address())
    return Prepared(
        (Step(Action.DOWNLOAD_DEFAULT),), {"iccid": iccid}, cleanup=lambda: set_default_smdp(ctx, previous)
    )


def set_default_smdp(ctx: CaseContext, address: str) -> str:
    """Configure the eUICC's default SM-DP+ address, as its EUM or a previous LPA would have; the
    address it had before."""
    from openrsp.euicc.store import open_euicc

    assert ctx.card.directory is not None
    with open_euicc(ctx.card.directory).transaction() as state:
        previous = state.default_smdp or ""
        state.default_smdp = address or None
    return previous


def judge_default(ctx: CaseContext, p: Prepared) -> list[Check]:
    auth = ctx.calls("authenticateClient")
    return [
        dut_said(ctx, 0, True),
        check(
            "no matchingId sent (default SM-DP+ use case)",
            any(e.request.get("matchingId") in ("", None) for e in auth if e.request.get("euicc") == "ok"),
        ),  # fmt: skip
        *installed_once(ctx, p.facts["iccid"]),
        order_state(ctx, p.facts["iccid"], "Installed"),
    ]
