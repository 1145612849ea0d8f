"""`openrsp operator` commands."""

import typer

app = typer.Typer(help="operator commands.", no_args_is_help=True)
