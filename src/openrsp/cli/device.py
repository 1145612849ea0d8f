"""`openrsp device serve DIR`: the device screen (the LUI as a web page) for the eUICC in DIR."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from openrsp.errors import InputError

app = typer.Typer(help="The device screen: a phone's eSIM settings as a web page.", no_args_is_help=True)


@app.callback()
def _device() -> None:
    """The device screen: a phone's eSIM settings as a web page."""


@app.command()
def serve(
    directory: Annotated[Path, typer.Argument(help="Folder holding the eUICC (`openrsp euicc create`).")],
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free one).")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    pki: Annotated[
        Path | None, typer.Option("--pki", help="An `openrsp pki init` folder: trust its CI certificates.")
    ] = None,
    ci: Annotated[
        list[Path] | None, typer.Option("--ci", help="CI certificate trusted for SM-DP+ TLS (repeatable).")
    ] = None,
    client_cert: Annotated[
        Path | None, typer.Option("--client-cert", help="LPA TLS client certificate (PEM).")
    ] = None,
    client_key: Annotated[Path | None, typer.Option("--client-key", help="Its private key (PEM).")] = None,
    resolve: Annotated[
        list[str] | None, typer.Option("--resolve", help="HOST:IP, like curl --resolve (repeatable).")
    ] = None,
    imei: Annotated[str | None, typer.Option("--imei", help="IMEI the device announces to SM-DP+s.")] = None,
    apdu_delay_ms: Annotated[
        float,
        typer.Option("--apdu-delay-ms", help="Make each APDU take this long, like a real card reader."),
    ] = 0.0,
) -> None:
    """Serve the eSIM settings page for the eUICC in DIRECTORY until stopped (Ctrl-C).

    Without --pki or --ci, SM-DP+ TLS certificates are checked against the CIs the eUICC trusts.
    """
    from openrsp.device.phone import Phone
    from openrsp.device.server import serve as run_server
    from openrsp.euicc.store import read_state
    from openrsp.lpa.core.device import DeviceInfo
    from openrsp.lpa.ui.connect import https_factory

    if apdu_delay_ms < 0:
        raise InputError("--apdu-delay-ms cannot be negative")
    read_state(directory)  # fail now, in one line, when DIRECTORY holds no eUICC
    https = https_factory(
        ci=ci or [], pki=pki, euicc=directory, client_cert=client_cert, client_key=client_key,
        resolve=resolve or [],
    )  # fmt: skip
    https()  # read the certificates now: a wrong path is said at once, not at the first download
    phone = Phone.in_process(
        directory, https, device=DeviceInfo.for_imei(imei), apdu_delay=apdu_delay_ms / 1000
    )

    def ready(url: str) -> None:
        typer.echo(url)
        typer.echo(f"device screen for the eUICC in {directory} at {url}; stop with Ctrl-C", err=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        run_server(phone, host, port, on_ready=ready)
