"""Checks the cases share: what the DUT said, what the SM-DP+ holds, what is on the card."""

from __future__ import annotations

from openrsp.lab.context import CaseContext
from openrsp.lab.model import Check


def check(name: str, ok: bool, detail: str = "") -> Check:
    return Check(name, bool(ok), detail)


def dut_said(ctx: CaseContext, index: int, ok: bool) -> Check:
    outcome = ctx.outcomes[index] if index < len(ctx.outcomes) else None
    if outcome is None or outcome.skipped:
        return check(f"step {index + 1}: the DUT ran it", False, "not performed")
    words = "succeeded" if outcome.ok else "reported a failure"
    return check(f"step {index + 1}: the DUT {'succeeds' if ok else 'reports a failure'}", outcome.ok == ok,
                  f"{words}: {outcome.detail[:160]}")  # fmt: skip


def order_state(ctx: CaseContext, iccid: str, expected: str) -> Check:
    state = ctx.server.state(iccid)
    return check(f"SM-DP+ order is {expected}", state == expected, f"it is {state}")


def installed_once(ctx: CaseContext, iccid: str) -> list[Check]:
    checks = []
    new = ctx.new_profiles()
    if new is not None:
        checks.append(
            check("card: the profile is installed, once", new == [iccid], f"new on the card: {new}")
        )
        pending = ctx.pending_for(iccid) or []
        checks.append(check("card: no notification left pending", not pending, f"pending: {pending}"))
    notes = [
        e for e in ctx.calls("handleNotification")
        if e.request.get("event") == "install" and e.request.get("iccid") == iccid
    ]  # fmt: skip
    ok = any(e.request.get("result") == "success" and e.status == "HTTP 204" for e in notes)
    checks.append(check("install notification delivered and accepted", ok, f"{len(notes)} received"))
    return checks


def nothing_installed(ctx: CaseContext) -> list[Check]:
    new = ctx.new_profiles()
    if new is None:
        return []
    return [check("card: nothing installed, nothing half-installed", new == [], f"new on the card: {new}")]


def no_session_loop(ctx: CaseContext, attempts: int) -> Check:
    n = len(ctx.calls("initiateAuthentication"))
    return check(
        f"no automatic retry (≤ {attempts} session(s))", n <= attempts, f"{n} initiateAuthentication"
    )


def no_bpp(ctx: CaseContext) -> Check:
    n = len(ctx.calls("getBoundProfilePackage"))
    return check("no getBoundProfilePackage", n == 0, f"{n} sent")
