"""A profile's whole life on the device: installed, enabled, disabled, deleted, every notification
delivered; the same with a TS.48 test profile for the lab's network tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from openrsp.errors import OpenRSPError
from openrsp.lab.cases.checks import check, dut_said
from openrsp.lab.context import CaseContext
from openrsp.lab.model import Action, Check, Prepared, Step


def lifecycle(ts48: bool) -> Callable[[CaseContext], Prepared]:
    def prepare(ctx: CaseContext) -> Prepared:
        if ts48:
            files = sorted(ctx.ts48.glob("*-UNIQUE.der")) if ctx.ts48 else []
            if not files:
                return Prepared((), not_applicable="give --ts48 DIR (the GSMA TS.48 test profiles)")
            iccid = _import_unused(ctx, files)
            if iccid is None:
                return Prepared((), not_applicable="every TS.48 profile in --ts48 was used already")
        else:
            iccid = ctx.server.new_profile("Lab notifications")
        order = ctx.server.order(iccid)
        steps = (
            Step(Action.DOWNLOAD, order.activation_code),
            Step(Action.ENABLE, iccid=iccid),
            Step(Action.DISABLE, iccid=iccid),
            Step(Action.DELETE, iccid=iccid),
        )
        return Prepared(steps, {"iccid": iccid})

    return prepare


def _import_unused(ctx: CaseContext, files: list[Path]) -> str | None:
    """The first TS.48 profile this SM-DP+ does not hold yet (each ICCID is imported once)."""
    for path in reversed(files):
        try:
            return ctx.server.import_profile(path)
        except OpenRSPError:
            continue  # imported by an earlier case of this campaign
    return None


def judge_lifecycle(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid = p.facts["iccid"]
    notes = [e for e in ctx.calls("handleNotification") if e.request.get("iccid") == iccid]
    checks = [dut_said(ctx, i, True) for i in range(4)]
    for event in ("install", "enable", "disable", "delete"):
        got = [e for e in notes if e.request.get("event") == event]
        accepted = [e for e in got if e.status == "HTTP 204"]
        checks.append(
            check(
                f"{event} notification delivered, signature accepted",
                len(accepted) >= 1,
                f"{len(got)} received, {len(accepted)} accepted",
            )  # fmt: skip
        )
    expected_states = ("disabled", "enabled", "disabled", "absent")  # after download, enable, ...
    states = [ctx.state_after_step(i, iccid) for i in range(4)]
    if all(state is not None for state in states):
        checks.append(
            check(
                "card: installed, enabled, disabled, then gone",
                tuple(states) == expected_states,
                " → ".join(str(s) for s in states),
            )  # fmt: skip
        )
    if ctx.before is not None and ctx.after is not None:
        checks.append(
            check(
                "card: left as it was",
                ctx.before["profiles"] == ctx.after["profiles"],
                f"before {len(ctx.before['profiles'])} profiles, after {len(ctx.after['profiles'])}",
            )  # fmt: skip
        )
        checks.append(check("card: no notification left pending", not ctx.pending_for(iccid)))
    return checks
