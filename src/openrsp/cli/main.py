"""The `openrsp` command: a thin shell that mounts each part's sub-commands."""

import sys

import typer

from openrsp.errors import OpenRSPError

app = typer.Typer(
    name="openrsp",
    help="openrsp: an open GSMA SGP.22 consumer eSIM platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """openrsp: an open GSMA SGP.22 consumer eSIM platform."""


@app.command()
def version() -> None:
    """Print the openrsp version."""
    from openrsp import __version__

    typer.echo(__version__)


def _mount() -> None:
    # Each part registers itself in its own module, so parts can grow without touching this file.
    from openrsp.cli import commands

    commands.register(app)


def run() -> None:
    """Entry point: usage errors exit 2 (click), openrsp errors exit 1 with one line."""
    _mount()
    try:
        app()
    except OpenRSPError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # a path the operating system refused: name it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        sys.exit(1)
