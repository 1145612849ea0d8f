"""`openrsp demo`: the whole platform end to end (SGP.22 Figure 7), embedded defaults, no set-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from openrsp.demo.cardlink import DEFAULT_APDU_OVERHEAD_MS, DEFAULT_BPS

if TYPE_CHECKING:
    from openrsp.demo.figure7 import DemoResult, Figure7
    from openrsp.demo.screen import DemoScreen


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace and summary as JSON.")] = False,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Work in this (new or empty) folder and keep it.")
    ] = None,
    ui: Annotated[
        bool,
        typer.Option(
            "--ui", help="Afterwards, serve the device's screen (SM-DP+ and network stay up) until Ctrl-C."
        ),
    ] = False,
    ui_port: Annotated[
        int, typer.Option("--ui-port", min=0, max=65535, help="Port of the device screen (0: a free one).")
    ] = 8080,
    link_bps: Annotated[
        int, typer.Option("--link-bps", help="Card link model: T=0 bit rate of the reader.")
    ] = DEFAULT_BPS,
    apdu_overhead_ms: Annotated[
        float, typer.Option("--apdu-overhead-ms", help="Card link model: fixed cost per APDU.")
    ] = DEFAULT_APDU_OVERHEAD_MS,
) -> None:
    """Run Figure 7: a device with only a provisioning profile downloads and uses its operational one."""
    from openrsp.demo.cardlink import CardLinkModel
    from openrsp.demo.figure7 import DemoOptions, run_demo
    from openrsp.demo.render import as_json as render_json
    from openrsp.demo.render import live_trace, summary
    from openrsp.demo.screen import DemoScreen
    from openrsp.demo.trace import Trace

    options = DemoOptions(keep=keep, link=CardLinkModel(link_bps, apdu_overhead_ms))
    screen = DemoScreen(ui_port) if ui else None  # the port is taken now: in use is said at once

    def finish(result: DemoResult, world: Figure7) -> None:
        """The report, then (with --ui) the device screen while the SM-DP+ and network are still up."""
        if as_json:
            typer.echo(render_json(result))
        else:
            for line in summary(result):
                typer.echo(line)
        if screen is not None:
            _show_screen(screen, result, world, to_err=as_json)

    try:
        if as_json:
            result = run_demo(options, Trace(), while_up=finish)
        else:
            typer.echo(
                "openrsp demo: SGP.22 Figure 7, a device with only a provisioning profile gets service"
            )
            result = run_demo(options, live_trace(typer.echo), while_up=finish)
    finally:
        if screen is not None:
            screen.close()
    raise typer.Exit(0 if result.ok else 1)


def _show_screen(screen: DemoScreen, result: DemoResult, world: Figure7, *, to_err: bool) -> None:
    """Serve the device screen until Ctrl-C; with --json the words go to stderr (stdout stays JSON)."""
    if not result.ok:
        typer.echo("The device screen is not shown: the run did not complete.", err=True)
        return

    def ready(url: str) -> None:
        typer.echo(f"Device screen: {url}", err=to_err)
        typer.echo("  the SM-DP+ and the network stay up until you stop with Ctrl-C", err=to_err)

    screen.serve(world, ready)
    typer.echo("Stopping the device screen, the network and the SM-DP+.", err=to_err)
