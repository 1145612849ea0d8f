"""`openrsp euicc` commands."""

import typer

app = typer.Typer(help="euicc commands.", no_args_is_help=True)
