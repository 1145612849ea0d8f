"""`openrsp euicc` commands."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from openrsp.euicc.vpcd import ServedCard

from openrsp.errors import InputError, OpenRSPError

app = typer.Typer(help="euicc commands.", no_args_is_help=True)


@app.command()
def serve(
    directory: Annotated[Path, typer.Argument(help="Folder holding the eUICC (its state and keys).")],
    vpcd: Annotated[
        str, typer.Option("--vpcd", help="Address of vsmartcard's vpcd (pcscd's virtual reader), HOST:PORT.")
    ] = "127.0.0.1:35963",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every APDU.")] = False,
) -> None:
    """Serve the eUICC in DIRECTORY to PC/SC through vpcd until stopped (Ctrl-C or SIGTERM)."""
    from openrsp.euicc.vpcd import parse_address, serve

    host, port = parse_address(vpcd)
    if not directory.is_dir():
        raise InputError(f"euicc serve: {directory} is not a folder")
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
