"""`openrsp euicc` commands."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from openrsp.euicc.vpcd import ServedCard

from openrsp.errors import InputError, OpenRSPError

app = typer.Typer(help="The virtual eUICC: create one, show it, serve it to PC/SC.", no_args_is_help=True)


@app.command()
def serve(
    directory: Annotated[Path, typer.Argument(help="Folder holding the eUICC (its state and keys).")],
    vpcd: Annotated[
        str, typer.Option("--vpcd", help="Address of vsmartcard's vpcd (pcscd's virtual reader), HOST:PORT.")
    ] = "127.0.0.1:35963",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every APDU.")] = False,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--lenient",
            help="Refuse what SGP.22 forbids where real eUICCs are lenient (segments over 1020 bytes),"
            " or go back to lenient; stored in the eUICC (default: keep what it has).",
        ),
    ] = None,
) -> None:
    """Serve the eUICC in DIRECTORY to PC/SC through vpcd until stopped (Ctrl-C or SIGTERM)."""
    from openrsp.euicc.vpcd import parse_address, serve

    host, port = parse_address(vpcd)
    if not directory.is_dir():
        raise InputError(f"euicc serve: {directory} is not a folder")
    if strict is not None:
        from openrsp.euicc.store import set_strict

        set_strict(directory, strict)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    card = _open_card(directory)
    typer.echo(f"serving the eUICC in {directory} to vpcd at {host}:{port}; stop with Ctrl-C", err=True)
    serve(card, host, port)


def _open_card(directory: Path) -> "ServedCard":
    # The eUICC store is written by another part; until it exists, say so in one line.
    try:
        from openrsp.euicc.store import open_card
    except ImportError as exc:
        if exc.name != "openrsp.euicc.store":
            raise
        raise OpenRSPError(
            "euicc serve: the eUICC store (openrsp.euicc.store.open_card) is not available yet"
        ) from None
    return open_card(directory)


@app.command()
def create(
    directory: Annotated[
        Path, typer.Argument(help="Empty folder to write the new eUICC into.", show_default=False)
    ],
    pki: Annotated[Path | None, typer.Option("--pki", help="An `openrsp pki init` folder.")] = None,
    sgp26: Annotated[
        Path | None, typer.Option("--sgp26", help="A GSMA SGP.26 test credentials folder.")
    ] = None,
    eid: Annotated[
        str | None,
        typer.Option("--eid", help="EID; a new eUICC key and certificate are issued if it differs."),
    ] = None,
    curve: Annotated[
        str | None, typer.Option("--curve", help="Sign with nist or brp only (default: all).")
    ] = None,
    default_smdp: Annotated[
        str | None, typer.Option("--default-smdp", help="Default SM-DP+ address.")
    ] = None,
    root_smds: Annotated[str | None, typer.Option("--root-smds", help="Root SM-DS address.")] = None,
    with_pp: Annotated[
        Path | None,
        typer.Option("--with-pp", help="Profile package (DER) to pre-install as the provisioning profile."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Refuse what SGP.22 forbids where real eUICCs are lenient (segments over 1020 bytes).",
        ),
    ] = False,
) -> None:
    """Create an eUICC: EID, keys and certificates, trusted CIs, addresses, optional provisioning profile."""
    from openrsp.euicc.report import summary_lines
    from openrsp.euicc.store import create_euicc

    if curve is not None and curve not in ("nist", "brp"):
        raise InputError(f"--curve must be nist or brp, not {curve!r}")
    package = None
    if with_pp is not None:
        try:
            package = with_pp.read_bytes()
        except OSError as exc:
            raise InputError(f"--with-pp: cannot read {with_pp}: {exc.strerror or exc}") from None
    state = create_euicc(
        directory,
        pki=pki,
        sgp26=sgp26,
        eid=eid,
        curve=curve,
        default_smdp=default_smdp,
        root_smds=root_smds,
        provisioning_profile=package,
        strict=strict,
    )
    typer.echo(f"eUICC written to {directory}")
    for line in summary_lines(state):
        typer.echo(f"  {line}")


@app.command()
def info(
    directory: Annotated[Path, typer.Argument(help="Folder holding the eUICC.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (lpac-like field names).")] = False,
) -> None:
    """Show the EID, the profiles and the pending notifications of the eUICC in DIRECTORY."""
    import json

    from openrsp.euicc.report import euicc_summary, summary_lines
    from openrsp.euicc.store import read_state

    state = read_state(directory)
    if as_json:
        typer.echo(json.dumps(euicc_summary(state), indent=2))
        return
    for line in summary_lines(state):
        typer.echo(line)
