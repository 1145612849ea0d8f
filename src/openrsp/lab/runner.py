"""A campaign: one lab SM-DP+ and one card for all cases, run one case at a time against a DUT."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from openrsp.errors import OpenRSPError
from openrsp.lab.card import LabCard
from openrsp.lab.context import CaseContext
from openrsp.lab.duts import Dut
from openrsp.lab.faults import NO_FAULT
from openrsp.lab.model import Case, CaseResult, Check, Verdict, verdict_of
from openrsp.lab.server import LabServer


@dataclass
class Campaign:
    dut: str
    card: str
    credentials: str
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    results: list[CaseResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {v.value: sum(1 for r in self.results if r.verdict is v) for v in Verdict}

    @property
    def passed(self) -> bool:
        """Every case that ran passed (cases not run do not fail a campaign, and are reported)."""
        return all(r.verdict in (Verdict.PASS, Verdict.NOT_RUN) for r in self.results)


def run_case(case: Case, dut: Dut, server: LabServer, card: LabCard, *, ts48: Path | None = None,
             slow_seconds: float = 2.0) -> CaseResult:  # fmt: skip
    """Prepare the case on the server, let the DUT perform its steps, judge what was seen."""
    if not case.available:
        return CaseResult(case, Verdict.NOT_RUN, reason=f"not available: {case.unavailable}")
    missing = case.needs - dut.capabilities
    if missing:
        return CaseResult(
            case, Verdict.NOT_RUN, reason=f"the {dut.name} DUT cannot: {', '.join(sorted(missing))}"
        )
    ctx = CaseContext(server, card, dut.capabilities, ts48=ts48, slow_seconds=slow_seconds)
    started = time.monotonic()
    try:
        result = _run_prepared(case, dut, ctx)
    except OpenRSPError as exc:
        result = CaseResult(case, Verdict.INCONCLUSIVE, reason=f"the lab could not run the case: {exc}")
    except Exception as exc:  # a lab bug must not end the campaign: report it on the case
        detail = "".join(traceback.format_exception_only(exc)).strip()
        result = CaseResult(case, Verdict.INCONCLUSIVE, reason=f"lab error: {detail}")
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _run_prepared(case: Case, dut: Dut, ctx: CaseContext) -> CaseResult:
    assert case.prepare is not None and case.judge is not None
    prepared = case.prepare(ctx)
    if prepared.not_applicable:
        return CaseResult(case, Verdict.NOT_RUN, reason=prepared.not_applicable)
    cannot = next((why for why in map(dut.cannot, prepared.steps) if why), None)
    if cannot:
        return CaseResult(case, Verdict.NOT_RUN, reason=cannot)
    server, card = ctx.server, ctx.card
    try:
        ctx.before = card.snapshot()
        server.recorder.begin()
        server.fault = ctx.fault or NO_FAULT
        try:
            ctx.outcomes, answer = dut.run(
                case.id, prepared.steps, lambda: ctx.during.append(card.snapshot())
            )
        finally:
            server.fault = NO_FAULT
        ctx.exchange = server.recorder.rows()
        ctx.after = card.snapshot()
        if any(o.skipped for o in ctx.outcomes):
            exchange = [e.as_dict() for e in ctx.exchange]
            return CaseResult(case, Verdict.INCONCLUSIVE, steps=ctx.outcomes, exchange=exchange,
                              reason="skipped by the tester")  # fmt: skip
        checks = case.judge(ctx, prepared)
        exchange = [e.as_dict() for e in ctx.exchange]  # a judge that waited may have read more
    finally:
        if prepared.cleanup is not None:
            prepared.cleanup()
    card_views = (
        {"before": ctx.before, "after_each_step": ctx.during, "after": ctx.after}
        if ctx.before is not None
        else {}
    )
    result = CaseResult(case, verdict_of(checks), checks, ctx.outcomes, exchange, card_views)
    if case.question is not None and dut.name == "manual":
        result.answer = answer
        if answer is None:
            result.verdict, result.reason = Verdict.INCONCLUSIVE, "the tester did not answer"
        else:
            ok = answer in case.question.expected
            result.checks.append(Check(f"screen: {case.question.expected[0]}", ok, f"tester: {answer}"))
            result.verdict = verdict_of(result.checks)
    return result


def run_campaign(
    cases: list[Case],
    dut: Dut,
    server: LabServer,
    card: LabCard,
    *,
    ts48: Path | None = None,
    slow_seconds: float = 2.0,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Campaign:
    campaign = Campaign(dut.name, card.kind, str(server.credentials))
    for case in cases:
        result = run_case(case, dut, server, card, ts48=ts48, slow_seconds=slow_seconds)
        campaign.results.append(result)
        if on_result is not None:
            on_result(result)
    return campaign
