"""`openrsp smds`: run the SM-DS, and look after its event records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="The SM-DS: event discovery over ES11 (LPA), ES12 (SM-DP+), ES15 (SM-DS).", no_args_is_help=True
)
events_app = typer.Typer(help="The event records: list, remove.", no_args_is_help=True)
app.add_typer(events_app, name="events")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="SM-DS configuration (TOML).")]
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Data folder (default $XDG_DATA_HOME/openrsp/smds).")
]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default sqlite in the data folder).")]


def _config(config: Path | None, data: Path | None, db: str | None, **more: Any):
    from openrsp.smds.config import load_config

    return load_config(config, data_dir=data, db_url=db, **more)


def _store(config: Path | None, data: Path | None, db: str | None):
    from openrsp.smds.store import EventStore

    cfg = _config(config, data, db)
    return EventStore.open(cfg.db_url)


@app.command()
def serve(
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    credentials: Annotated[
        Path | None, typer.Option(help="`openrsp pki init` or `openrsp pki issue smds` folder.")
    ] = None,
    address: Annotated[str | None, typer.Option(help="SM-DS address (default: the DS TLS DNS name).")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [8444].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [1].")] = None,
    dp_ca: Annotated[
        list[Path] | None,
        typer.Option("--dp-ca", help="CA of SM-DP+ TLS client certificates (repeatable; default: the CIs)."),
    ] = None,
    root: Annotated[
        str | None,
        typer.Option("--root", help="https:// URL of the root SM-DS: makes this an alternative SM-DS."),
    ] = None,
    root_address: Annotated[
        str | None,
        typer.Option("--root-address", help="The root's TLS name when --root names an IP address."),
    ] = None,
) -> None:
    """Serve ES11, ES12 and ES15 over HTTPS (TLS only) until interrupted."""
    from openrsp.smds.server import serve as run_server

    cfg = _config(
        config, data, db, credentials_dir=credentials, address=address, host=host, port=port, workers=workers,
        dp_ca=tuple(dp_ca or ()), root=root, root_address=root_address,
    )  # fmt: skip
    run_server(cfg)


@events_app.command("list")
def events_list(
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    eid: Annotated[str | None, typer.Option(help="Only this EID's events.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The event records waiting for eUICCs to discover them."""
    store = _store(config, data, db)
    try:
        records = [r for r in store.all() if eid is None or r.eid == eid]
    finally:
        store.engine.dispose()
    rows = [
        {"eid": r.eid, "eventId": r.event_id, "rspServerAddress": r.rsp_server_address,
         "registeredBy": r.registrar, "forwardedTo": r.forwarded, "created": r.created_at.isoformat()}
        for r in records
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no events")
    for row in rows:
        forwarded = f"  (forwarded to {row['forwardedTo']})" if row["forwardedTo"] else ""
        typer.echo(
            f"{row['eid']}  {row['eventId']}  {row['rspServerAddress']}  by {row['registeredBy']}{forwarded}"
        )


@events_app.command("remove")
def events_remove(
    event_ids: Annotated[list[str], typer.Argument(help="eventIds to remove.", show_default=False)],
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
) -> None:
    """Remove event records (as the SM-DS's operator; the SM-DP+ is not told)."""
    from openrsp.errors import InputError

    store = _store(config, data, db)
    try:
        removed = store.remove_by_event_id(event_ids)
    finally:
        store.engine.dispose()
    gone = {r.event_id for r in removed}
    for record in removed:
        typer.echo(f"removed {record.event_id} ({record.eid})")
    missing = [e for e in event_ids if e not in gone]
    if missing:
        raise InputError(f"no event record for {', '.join(missing)}")
