"""`openrsp network`: HSS subscribers, an attach against an eUICC folder, the MAPS policy point.

openrsp network hss add --db FILE --imsi IMSI --ki HEX --opc HEX [--apn APN]... [--voice] [--sms]
openrsp network hss list --db FILE [--json]
openrsp network attach --db FILE --euicc DIR [--pp-range RANGE]... [--apn APN] [--maps URL] [--json]
openrsp network maps --smdp HOST:PORT [--port N] [--resolve HOST:IP]...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from openrsp.errors import InputError
from openrsp.hexutil import from_hex

app = typer.Typer(
    help="Network simulation: HSS subscribers, attach, the MAPS policy point.", no_args_is_help=True
)
hss_app = typer.Typer(
    help="The HSS: provision and list subscribers (keys are never shown).", no_args_is_help=True
)
app.add_typer(hss_app, name="hss")

DbOpt = Annotated[Path, typer.Option("--db", help="HSS database (SQLite; its key sits in FILE.key).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DEFAULT_SMDP = "smdp.openrsp.test:8443"


def _smdp(text: str) -> tuple[str, int]:
    from openrsp.network.maps import split_authority

    try:
        return split_authority(text)
    except InputError:
        raise InputError(f"--smdp {text!r}: expected HOST:PORT") from None


@hss_app.command("add")
def hss_add(
    db: DbOpt,
    imsi: Annotated[str, typer.Option(help="IMSI (6-15 digits).", show_default=False)],
    ki: Annotated[str, typer.Option(help="Ki, 32 hex digits.", show_default=False)],
    opc: Annotated[str, typer.Option(help="OPc, 32 hex digits.", show_default=False)],
    apn: Annotated[list[str] | None, typer.Option(help="Data APN under contract (repeatable).")] = None,
    voice: Annotated[bool, typer.Option(help="Voice under contract.")] = False,
    sms: Annotated[bool, typer.Option(help="SMS under contract.")] = False,
    sqn: Annotated[int, typer.Option(help="Sequence number to start from.")] = 0,
    amf: Annotated[str, typer.Option(help="AMF, 4 hex digits.")] = "8000",
) -> None:
    """Add (or replace) a subscriber with its keys and contract."""
    from openrsp.network.contract import Contract
    from openrsp.network.hss import Hss

    contract = Contract(tuple(apn or ()), voice, sms)
    with Hss(db) as hss:
        hss.provision(
            imsi,
            from_hex(ki, length=16, name="Ki"),
            from_hex(opc, length=16, name="OPc"),
            contract,
            amf=from_hex(amf, length=2, name="AMF"),
            sqn=sqn,
        )
    typer.echo(f"{imsi} provisioned: {', '.join(contract.services()) or 'no services'}")


@hss_app.command("list")
def hss_list(db: DbOpt, as_json: JsonOpt = False) -> None:
    """List subscribers: IMSI, SQN, contract."""
    from openrsp.network.hss import Hss

    if not db.exists():
        raise InputError(f"no HSS database at {db}")
    with Hss(db) as hss:
        subs = [hss.subscriber(imsi) for imsi in hss.imsis()]
    if as_json:
        rows = [
            {"imsi": s.imsi, "sqn": s.sqn, "amf": s.amf.hex().upper(), **s.contract.to_json()} for s in subs
        ]
        typer.echo(json.dumps(rows))
        return
    for s in subs:
        typer.echo(f"{s.imsi:<15} SQN {s.sqn:<6} {', '.join(s.contract.services()) or 'no services'}")


@app.command()
def attach(
    db: DbOpt,
    euicc: Annotated[
        Path, typer.Option("--euicc", help="eUICC folder (in-process card).", show_default=False)
    ],
    pp_range: Annotated[
        list[str] | None,
        typer.Option("--pp-range", help="Provisioning IMSI range FIRST-LAST or PREFIX* (repeatable)."),
    ] = None,
    apn: Annotated[str | None, typer.Option(help="APN the device asks for.")] = None,
    smdp: Annotated[
        str, typer.Option(help="SM-DP+ HOST:PORT provisioning profiles may reach.")
    ] = DEFAULT_SMDP,
    maps: Annotated[
        str | None,
        typer.Option(help="URL of a running MAPS (`openrsp network maps`); default: a temporary one."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Power the device on, attach it with AKA, and show the bearer and services it gets."""
    from openrsp.euicc.store import open_card
    from openrsp.lpa.drivers.in_process import InProcessTransport
    from openrsp.network.device import Modem
    from openrsp.network.errors import NetworkError
    from openrsp.network.hss import Hss
    from openrsp.network.network import MobileNetwork

    if not db.exists():
        raise InputError(f"no HSS database at {db}")
    transport = InProcessTransport(open_card(euicc))
    modem = Modem(transport, profile_class=lambda: _enabled_profile_class(transport))
    with Hss(db) as hss:
        network = MobileNetwork(hss, smdp=_smdp(smdp), provisioning_ranges=pp_range or ())
        try:
            if maps is not None:
                network.gateway.maps_url = maps
                session = network.attach(modem, apn=apn)
            else:
                with network:
                    session = network.attach(modem, apn=apn)
        except NetworkError:
            if not as_json:  # what happened before the refusal, then the one-line error
                for event in network.events.events:
                    typer.echo(str(event), err=True)
            raise
    if as_json:
        typer.echo(json.dumps({**session.to_json(), "events": [e.to_json() for e in network.events.events]}))
        return
    for event in network.events.events:
        if event.source != "maps":
            typer.echo(str(event))
    bearer = session.default_bearer
    typer.echo(
        f"attached: IMSI {session.imsi}, {'provisioning' if session.provisioning else 'operational'} profile"
    )
    typer.echo(
        f"bearer: APN {bearer.apn}" + (f" (restricted, via {bearer.proxy})" if bearer.restricted else "")
    )
    typer.echo(f"services: {', '.join(session.services())}")


def _enabled_profile_class(transport) -> str | None:
    """What the device reports about its enabled profile, read with ES10c GetProfilesInfo."""
    from openrsp.lpa.core.es10 import Es10
    from openrsp.lpa.drivers.es10_client import Es10Client

    with Es10Client(transport) as client:
        enabled = [p for p in Es10(client).get_profiles_info() if p.state == "enabled"]
    return enabled[0].profile_class if enabled else None


@app.command("maps")
def maps_command(
    smdp: Annotated[str, typer.Option(help="The SM-DP+ HOST:PORT to let through.")] = DEFAULT_SMDP,
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1; 0 = any free port).")] = 0,
    resolve: Annotated[
        list[str] | None, typer.Option("--resolve", help="HOST:IP for upstream names (repeatable).")
    ] = None,
) -> None:
    """Run the MAPS policy point until Ctrl-C, printing every decision."""
    import threading

    from openrsp.lpa.drivers.https import parse_resolve
    from openrsp.network.events import EventLog
    from openrsp.network.maps import MapsPolicy, MapsProxy

    events = EventLog(listener=lambda event: typer.echo(str(event)))
    proxy = MapsProxy(
        MapsPolicy([_smdp(smdp)]), resolve=parse_resolve(resolve or []), port=port, events=events
    )
    with proxy:
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            typer.echo("MAPS stopped", err=True)
