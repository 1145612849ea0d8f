"""An unreliable network: the connection cut during getBoundProfilePackage, a slow SM-DP+."""

from __future__ import annotations

from collections.abc import Callable

from openrsp.lab.cases.checks import check, dut_said, installed_once, order_state
from openrsp.lab.context import CaseContext
from openrsp.lab.faults import CutOnce, Slow
from openrsp.lab.model import Action, Check, Prepared, Step

# The user did not refuse and the package did not fail to load: the session timed out or was put off.
NETWORK_REASONS = ("timeout", "postponed", "undefinedReason")


def unreliable(kind: str) -> Callable[[CaseContext], Prepared]:
    def prepare(ctx: CaseContext) -> Prepared:
        if kind == "cut":
            ctx.fault = CutOnce("connection cut half-way through the first getBoundProfilePackage answer")
        else:
            slow = ("initiateAuthentication", "getBoundProfilePackage")
            ctx.fault = Slow(f"{' and '.join(slow)} answers held back {ctx.slow_seconds:g} s",
                             seconds=ctx.slow_seconds, functions=slow)  # fmt: skip
        order = ctx.server.order(ctx.server.new_profile(f"Lab {kind}"))
        first = Step(Action.DOWNLOAD, order.activation_code)
        again = Step(
            Action.DOWNLOAD, order.activation_code, note="the first attempt failed: try again", retry=True
        )
        return Prepared((first, again), {"iccid": order.iccid})

    return prepare


def judge_unreliable(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid = p.facts["iccid"]
    checks: list[Check] = []
    first_ok = bool(ctx.outcomes) and ctx.outcomes[0].ok
    if not first_ok:
        sessions = [e.request.get("transactionId") for e in ctx.calls("getBoundProfilePackage")]
        first_tx = sessions[0] if sessions else None
        cancelled = [
            e.request.get("reason") for e in ctx.calls("cancelSession") if e.request.get("transactionId") == first_tx
        ]  # fmt: skip
        retried = sessions.count(first_tx) > 1 if first_tx else False
        checks.append(
            check(
                "the interrupted session is cancelled (or its request retried)",
                bool(cancelled) or retried,
                f"cancelSession reasons: {cancelled or 'none'}",
            )  # fmt: skip
        )
        checks.append(
            check(
                "cancelSession reason fits a network failure",
                all(reason in NETWORK_REASONS for reason in cancelled),
                f"{cancelled or 'none'}; fitting: {', '.join(NETWORK_REASONS)}",
            )  # fmt: skip
        )
        checks.append(dut_said(ctx, 1, True))
    else:
        checks.append(dut_said(ctx, 0, True))
    return [*checks, *installed_once(ctx, iccid), order_state(ctx, iccid, "Installed")]
