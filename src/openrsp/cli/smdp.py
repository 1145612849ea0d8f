"""`openrsp smdp` commands."""

import typer

app = typer.Typer(help="smdp commands.", no_args_is_help=True)
