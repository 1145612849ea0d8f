"""Campaign reports: JSON (everything), a self-contained HTML page (no script, no outside files) and
JUnit XML for CI systems. One row per case: verdict, expected, what happened, the ES9+ trace."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from openrsp.lab.exchange import Exchange
from openrsp.lab.model import CaseResult, Verdict
from openrsp.lab.runner import Campaign

JSON_NAME, HTML_NAME = "campaign.json", "campaign.html"


def result_dict(result: CaseResult) -> dict[str, Any]:
    case = result.case
    return {
        "id": case.id,
        "title": case.title,
        "verdict": result.verdict.value,
        "expected": case.expected,
        "happened": result.happened,
        "reason": result.reason,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks],
        "steps": [
            {"step": o.step.describe(), "ok": o.ok, "skipped": o.skipped, "detail": o.detail}
            for o in result.steps
        ],
        "exchange": result.exchange,
        "trace": trace_lines(result),
        "card": result.card,
        "answer": result.answer,
        "seconds": result.seconds,
    }


def campaign_dict(campaign: Campaign) -> dict[str, Any]:
    return {
        "dut": campaign.dut,
        "card": campaign.card,
        "credentials": campaign.credentials,
        "started": campaign.started,
        "summary": campaign.counts(),
        "cases": [result_dict(r) for r in campaign.results],
    }


def trace_lines(result: CaseResult) -> list[str]:
    return [Exchange(**row).line() for row in result.exchange]


def write_json(campaign: Campaign, path: Path) -> None:
    path.write_text(json.dumps(campaign_dict(campaign), indent=2, ensure_ascii=False) + "\n")


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.verdict{font-weight:bold;text-transform:uppercase}
.pass{color:#126b12}.fail{color:#b00020}.inconclusive{color:#a35c00}.not-run{color:#666}
pre{margin:.3em 0;white-space:pre-wrap;font:12px/1.3 ui-monospace,monospace}
.summary span{margin-right:1.5em}details summary{cursor:pointer}
"""


def render_html(campaign: Campaign) -> str:
    e = html.escape
    counts = campaign.counts()
    rows = []
    for result in campaign.results:
        data = result_dict(result)
        checks = "".join(
            f'<li class="{"pass" if c["ok"] else "fail"}">{"✔" if c["ok"] else "✘"} {e(c["name"])}'
            f"{': ' + e(c['detail']) if c['detail'] else ''}</li>"
            for c in data["checks"]
        )
        steps = "".join(
            f"<li>{e(s['step'])}: {'skipped' if s['skipped'] else ('ok' if s['ok'] else 'failed')}"
            f"{' — ' + e(s['detail']) if s['detail'] else ''}</li>"
            for s in data["steps"]
        )
        trace = e("\n".join(data["trace"])) or "(no ES9+ request reached the lab)"
        verdict = result.verdict.value
        rows.append(
            f'<tr id="case-{e(result.case.id)}" data-verdict="{verdict}">'
            f"<td><b>{e(result.case.id)}</b><br>{e(result.case.title)}</td>"
            f'<td class="verdict {verdict}">{verdict}</td>'
            f"<td>{e(result.case.expected)}</td>"
            f"<td>{e(result.reason) if result.reason else ''}<ul>{checks}</ul>"
            f"<details><summary>steps and ES9+ trace</summary><ul>{steps}</ul><pre>{trace}</pre></details></td></tr>"
        )
    summary = "".join(
        f'<span class="{k}">{e(k)}: <b data-count="{k}">{v}</b></span>' for k, v in counts.items()
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>openrsp lab campaign {e(campaign.started)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>openrsp lab campaign</h1><p>DUT <b>{e(campaign.dut)}</b>, card <b>{e(campaign.card)}</b>, "
        f"credentials {e(campaign.credentials)}, started {e(campaign.started)}</p>"
        f'<p class="summary" id="summary">{summary}</p>'
        "<table><thead><tr><th>Case</th><th>Verdict</th><th>Expected</th><th>What happened</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )


def write_html(campaign: Campaign, path: Path) -> None:
    path.write_text(render_html(campaign))


def write_junit(campaign: Campaign, path: Path) -> None:
    counts = campaign.counts()
    suite = ET.Element(
        "testsuite",
        name=f"openrsp-lab-{campaign.dut}",
        tests=str(len(campaign.results)),
        failures=str(counts[Verdict.FAIL.value]),
        errors=str(counts[Verdict.INCONCLUSIVE.value]),
        skipped=str(counts[Verdict.NOT_RUN.value]),
        timestamp=campaign.started,
        time=f"{sum(r.seconds for r in campaign.results):.2f}",
    )
    for result in campaign.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"lab.{result.case.group or 'case'}", name=result.case.id,
            time=f"{result.seconds:.2f}",
        )  # fmt: skip
        text = "\n".join(trace_lines(result))
        if result.verdict is Verdict.FAIL:
            ET.SubElement(case, "failure", message=result.happened[:500]).text = text
        elif result.verdict is Verdict.INCONCLUSIVE:
            ET.SubElement(case, "error", message=result.reason[:500]).text = text
        elif result.verdict is Verdict.NOT_RUN:
            ET.SubElement(case, "skipped", message=result.reason[:500])
        if text:
            ET.SubElement(case, "system-out").text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_reports(campaign: Campaign, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(campaign, folder / JSON_NAME)
    write_html(campaign, folder / HTML_NAME)
    return folder / JSON_NAME, folder / HTML_NAME
