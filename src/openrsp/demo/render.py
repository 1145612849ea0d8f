"""How the demo shows itself: a live step-by-step trace with timings, then a summary; or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from openrsp.demo.figure7 import DemoResult
from openrsp.demo.trace import StepRecord, Trace

Echo = Callable[[str], None]


def live_trace(echo: Echo) -> Trace:
    """A Trace that prints each step as it starts, its lines as they come, and its outcome."""
    numbers: dict[int, int] = {}

    def start(record: StepRecord) -> None:
        numbers[id(record)] = len(numbers) + 1
        echo(f"{numbers[id(record)]:>2}. {record.title}")

    def line(_record: StepRecord, text: str) -> None:
        echo(f"      {text}")

    def end(record: StepRecord) -> None:
        mark = "ok  " if record.ok else "FAIL"
        echo(f"    {mark} {record.ms:7.0f} ms  {record.detail}")

    return Trace(on_start=start, on_line=line, on_end=end)


def summary(result: DemoResult) -> list[str]:
    facts = result.facts
    lines = ["", "Summary"]
    for record in result.trace.steps:
        lines.append(f"  {'ok  ' if record.ok else 'FAIL'} {record.ms:7.0f} ms  {record.name}")
    lines.append(f"  total {result.total_ms / 1000:.1f} s")
    if "activationCode" in facts:
        lines.append(f"  activation code  {facts['activationCode']}")
    if "eid" in facts:
        lines.append(f"  EID              {facts['eid']}")
    if "iccid" in facts:
        lines.append(
            f"  ICCID            {facts['iccid']} (order {facts.get('orderState', 'not installed')})"
        )
    if "smdsIccid" in facts:
        lines.append(
            f"  SM-DS path       {facts['smdsIccid']} via event {facts.get('smdsEventId')} at "
            f"{facts.get('smdsAddress')} (order {facts.get('smdsOrderState', 'not installed')}), no QR code"
        )
    link = facts.get("cardLink")
    if link:
        lines.append(
            f"  batch download   {link['batchDownloadMs']:.0f} ms; segmented load {link['apdus']} APDUs "
            f"in {link['loadHereMs']:.0f} ms here, ~{link['loadRealCardEstimateMs'] / 1000:.1f} s on a real card"
        )
    maps = [e for e in result.events if e.source == "maps" and e.kind.startswith("connect")]
    if maps:
        allowed = sum(e.kind == "connect-allowed" for e in maps)
        lines.append(
            f"  MAPS             {allowed} tunnels to the SM-DP+ allowed, {len(maps) - allowed} refused"
        )
    if result.kept:
        lines.append(f"  kept in          {result.work_dir}")
    if result.ok:
        lines.append("The device got its operational profile and service; every step checked its outcome.")
    else:
        failed = result.trace.failed
        lines.append(f"FAILED at {failed.name if failed else '?'}: {failed.detail if failed else ''}")
    return lines


def as_json(result: DemoResult) -> str:
    return json.dumps(result.to_json(), indent=2)
