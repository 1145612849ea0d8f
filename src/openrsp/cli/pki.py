"""`openrsp pki` commands."""

import typer

app = typer.Typer(help="pki commands.", no_args_is_help=True)
