"""`openrsp lab`: device test campaigns (list the cases, run them against a DUT, serve the manual page)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the lab is imported only when a lab command runs
    from openrsp.lab.model import CaseResult
    from openrsp.lab.runner import Campaign

app = typer.Typer(help="Device test lab: campaigns against an LPA or a whole device.", no_args_is_help=True)

_CASES = Annotated[
    str | None, typer.Option("--cases", help="Case ids or globs, comma-separated (e.g. 'refusal.*,tls.*').")
]
_CARD = Annotated[str, typer.Option("--card", help="virtual | pcsc (served through pcscd + vpcd) | none.")]
_CURVE = Annotated[str, typer.Option("--curve", help="nist | brp: the curve of the eUICC's credentials.")]
_SGP26 = Annotated[Path | None, typer.Option("--sgp26", help="Use the GSMA SGP.26 test certificates in DIR.")]
_REPORT = Annotated[Path | None, typer.Option("--report", help="Write campaign.json and campaign.html here.")]
_JUNIT = Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report to FILE.")]
_TS48 = Annotated[Path | None, typer.Option("--ts48", help="Folder of GSMA TS.48 test profiles (*.der).")]


DUTS, CARDS, CURVES = ("openrsp", "command", "manual"), ("virtual", "pcsc", "none"), ("nist", "brp")


@app.callback()
def _lab() -> None:
    """Device test lab: campaigns against an LPA or a whole device."""


@app.command("list")
def list_(cases: _CASES = None) -> None:
    """The cases, with what a conformant LPA does; cases the platform cannot run yet say why."""
    from openrsp.lab.cases import select

    chosen = select(cases)
    if not chosen:
        raise typer.BadParameter(f"no case matches {cases!r}", param_hint="--cases")
    for case in chosen:
        state = "available" if case.available else f"not yet available: {case.unavailable}"
        needs = f" [needs: {', '.join(sorted(case.needs))}]" if case.needs else ""
        typer.echo(f"{case.id:38} {case.title}{needs}")
        typer.echo(f"{'':38}   expected: {case.expected}")
        typer.echo(f"{'':38}   {state}")


@app.command()
def run(
    dut: Annotated[str, typer.Option("--dut", help="openrsp | command | manual.")] = "openrsp",
    dut_cmd: Annotated[
        str | None,
        typer.Option("--dut-cmd", help="Command template for --dut command, e.g. 'lpac {command}'."),
    ] = None,
    card: _CARD = "virtual",
    cases: _CASES = None,
    curve: _CURVE = "nist",
    sgp26: _SGP26 = None,
    report: _REPORT = None,
    junit: _JUNIT = None,
    ts48: _TS48 = None,
    slow_seconds: Annotated[
        float, typer.Option("--slow-seconds", help="Delay of the slow-server case.")
    ] = 2.0,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Manual DUT: port of the lab's web page.")
    ] = 8090,
    smdp_port: Annotated[
        int, typer.Option("--smdp-port", min=0, max=65535, help="Port of the lab's SM-DP+ (0: any).")
    ] = 0,
    host: Annotated[str, typer.Option("--host", help="Interface the lab listens on.")] = "127.0.0.1",
) -> None:
    """Run a campaign; exit 1 when a case that ran did not pass."""
    from openrsp.lab.cases import select
    from openrsp.lab.runner import run_campaign
    from openrsp.lab.setup import make_dut, open_lab

    for name, value, allowed in (("--dut", dut, DUTS), ("--card", card, CARDS), ("--curve", curve, CURVES)):
        if value not in allowed:
            raise typer.BadParameter(f"{value!r}: use {' | '.join(allowed)}", param_hint=name)
    if slow_seconds < 0:
        raise typer.BadParameter("cannot be negative", param_hint="--slow-seconds")
    chosen = select(cases)
    if not chosen:
        raise typer.BadParameter(f"no case matches {cases!r} (see `openrsp lab list`)", param_hint="--cases")
    with open_lab(card=card, curve=curve, sgp26=sgp26, host=host, port=smdp_port) as lab:
        driver = make_dut(dut, lab, dut_cmd, page_host=host, page_port=port)
        page = driver.start()
        if page:
            typer.echo(f"lab page: {page}  (SM-DP+ at {lab.server.address()})", err=True)
        try:
            campaign = run_campaign(chosen, driver, lab.server, lab.card, ts48=ts48, slow_seconds=slow_seconds,
                                    on_result=_print_result)  # fmt: skip
            driver.finish(campaign.counts())
        finally:
            driver.stop()
    _write(campaign, report, junit)
    counts = campaign.counts()
    typer.echo(" ".join(f"{k}: {v}" for k, v in counts.items()))
    if not campaign.passed:
        raise typer.Exit(1)


@app.command()
def serve(
    cases: _CASES = None,
    curve: _CURVE = "nist",
    sgp26: _SGP26 = None,
    report: _REPORT = None,
    junit: _JUNIT = None,
    ts48: _TS48 = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the lab's web page.")] = 8090,
    smdp_port: Annotated[
        int, typer.Option("--smdp-port", min=0, max=65535, help="Port of the lab's SM-DP+ (0: any).")
    ] = 0,
    host: Annotated[
        str, typer.Option("--host", help="Interface the lab listens on (0.0.0.0 for a phone).")
    ] = "127.0.0.1",
) -> None:
    """A campaign for a real device: each case's activation code (QR) on a web page, one at a time."""
    run(dut="manual", dut_cmd=None, card="none", cases=cases, curve=curve, sgp26=sgp26, report=report,
        junit=junit, ts48=ts48, slow_seconds=5.0, port=port, smdp_port=smdp_port, host=host)  # fmt: skip


def _print_result(result: CaseResult) -> None:
    typer.echo(f"{result.verdict.value:13} {result.case.id:38} {result.happened[:200]}")


def _write(campaign: Campaign, report: Path | None, junit: Path | None) -> None:
    from openrsp.lab.report import write_junit, write_reports

    if report is not None:
        json_path, html_path = write_reports(campaign, report)
        typer.echo(f"report: {html_path} and {json_path}", err=True)
    if junit is not None:
        write_junit(campaign, junit)
