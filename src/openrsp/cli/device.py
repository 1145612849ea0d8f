"""`openrsp device serve DIR`: the device screen (the LUI as a web page) for the eUICC in DIR."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from openrsp.errors import InputError

if TYPE_CHECKING:
    from openrsp.lpa.https import HttpsSettings

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
    from openrsp.lpa.device import DeviceInfo
    from openrsp.lpa.https import parse_resolve

    if apdu_delay_ms < 0:
        raise InputError("--apdu-delay-ms cannot be negative")
    if (client_cert is None) != (client_key is None):
        raise InputError("--client-cert and --client-key go together")
    read_state(directory)  # fail now, in one line, when DIRECTORY holds no eUICC
    # Read the certificates now: a wrong path is said at once, not at the first download.
    settings = _https_settings(
        directory, pki, ci or [], client_cert, client_key, parse_resolve(resolve or [])
    )
    phone = Phone.in_process(
        directory, lambda: settings, device=DeviceInfo.for_imei(imei), apdu_delay=apdu_delay_ms / 1000
    )

    def ready(url: str) -> None:
        typer.echo(url)
        typer.echo(f"device screen for the eUICC in {directory} at {url}; stop with Ctrl-C", err=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        run_server(phone, host, port, on_ready=ready)


def _https_settings(
    directory: Path,
    pki: Path | None,
    ci: list[Path],
    client_cert: Path | None,
    client_key: Path | None,
    resolve: dict[str, str],
) -> HttpsSettings:
    """How the device reaches SM-DP+s: trusted CIs (given, the PKI's, else the eUICC's), names, client cert."""
    from cryptography import x509

    from openrsp.euicc.store import read_state
    from openrsp.lpa.https import HttpsSettings, load_ca_certificates

    cas = load_ca_certificates(ci)
    if pki is not None:
        from openrsp.pki.layout import PkiIndex

        index = PkiIndex.read(pki)
        cas += load_ca_certificates(index.cert_path(curve, "ci") for curve in index.curves)
    if not cas:
        cas = [x509.load_der_x509_certificate(c.certificate) for c in read_state(directory).trusted_cis]
    return HttpsSettings(tuple(cas), client_cert, client_key, resolve)
