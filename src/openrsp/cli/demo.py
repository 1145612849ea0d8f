"""`openrsp demo`: the whole platform end to end (SGP.22 Figure 7), embedded defaults, no set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openrsp.demo.cardlink import DEFAULT_APDU_OVERHEAD_MS, DEFAULT_BPS
from openrsp.errors import OpenRSPError


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace and summary as JSON.")] = False,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Work in this (new or empty) folder and keep it.")
    ] = None,
    ui: Annotated[bool, typer.Option("--ui", help="Show the device screen (not available yet).")] = False,
    link_bps: Annotated[
        int, typer.Option("--link-bps", help="Card link model: T=0 bit rate of the reader.")
    ] = DEFAULT_BPS,
    apdu_overhead_ms: Annotated[
        float, typer.Option("--apdu-overhead-ms", help="Card link model: fixed cost per APDU.")
    ] = DEFAULT_APDU_OVERHEAD_MS,
) -> None:
    """Run Figure 7: a device with only a provisioning profile downloads and uses its operational one."""
    if ui:
        raise OpenRSPError("demo --ui: the device screen is not available yet; run without --ui")
    from openrsp.demo.cardlink import CardLinkModel
    from openrsp.demo.figure7 import DemoOptions, run_demo
    from openrsp.demo.render import as_json as render_json
    from openrsp.demo.render import live_trace, summary
    from openrsp.demo.trace import Trace

    options = DemoOptions(keep=keep, link=CardLinkModel(link_bps, apdu_overhead_ms))
    if as_json:
        result = run_demo(options, Trace())
        typer.echo(render_json(result))
    else:
        typer.echo("openrsp demo: SGP.22 Figure 7, a device with only a provisioning profile gets service")
        result = run_demo(options, live_trace(typer.echo))
        for line in summary(result):
            typer.echo(line)
    raise typer.Exit(0 if result.ok else 1)
