"""`openrsp smdp`: run the SM-DP+, fill its inventory, and manage orders on its data directly."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from openrsp.cli.operator import OrderTarget, register_order_commands
from openrsp.errors import InputError
from openrsp.hexutil import to_hex

app = typer.Typer(
    help="The SM-DP+: serve ES2+/ES9+ over HTTPS, manage profiles and orders.", no_args_is_help=True
)
profile_app = typer.Typer(help="The profile inventory: import, generate, list, remove.", no_args_is_help=True)
admin_app = typer.Typer(
    help="Order commands run directly on the SM-DP+'s data (no ES2+ round trip).", no_args_is_help=True
)
keys_app = typer.Typer(
    help="The SM-DP+'s keys in a PKCS#11 token (HSM): import, list, rotate the sealing key.",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")
app.add_typer(admin_app, name="admin")
app.add_typer(keys_app, name="keys")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="SM-DP+ configuration (TOML).")]
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Data folder (default $XDG_DATA_HOME/openrsp/smdp).")
]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default sqlite in the data folder).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeysOpt = Annotated[
    str | None,
    typer.Option(
        "--keys",
        help="PKCS#11 URI of the token holding DPauth/DPpb and the sealing key "
        "(pkcs11:token=…;object=…?module-path=…&pin-source=…).",
    ),
]
OperatorOpt = Annotated[str | None, typer.Option("--operator", help="Operator owning the profiles.")]
PprOpt = Annotated[
    str | None,
    typer.Option(
        "--ppr", metavar="PPR1,PPR2", help="Profile policy rules of these profiles: ppr1, ppr2 or ppr1,ppr2."
    ),
]
IconOpt = Annotated[
    Path | None,
    typer.Option(
        "--icon", metavar="FILE", help="Icon shown before download: PNG or JPEG, at most 1024 bytes."
    ),
]


def _extras(ppr: str | None, icon: Path | None):
    from openrsp.smdp.inventory import ProfileExtras
    from openrsp.smdp.profile_policy import parse_pprs, read_icon

    return ProfileExtras(tuple(parse_pprs(ppr)), read_icon(icon) if icon is not None else None)


def _config(config: Path | None, data: Path | None, db: str | None, **more: Any):
    from openrsp.smdp.config import load_config

    return load_config(config, data_dir=data, db_url=db, **more)


def _database(config: Path | None, data: Path | None, db: str | None, keys: str | None = None):
    from openrsp.smdp.context import open_database

    return open_database(_config(config, data, db, keys_uri=keys))


def _operator_name(config_operator: str | None, cfg) -> str:
    return config_operator or cfg.default_operator or "default"


# -- serve -------------------------------------------------------------------------------------------


@app.command()
def serve(
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    credentials: Annotated[
        Path | None, typer.Option(help="`openrsp pki init` folder or SGP.26 folder (default: in --data).")
    ] = None,
    address: Annotated[str | None, typer.Option(help="SM-DP+ address (default: the TLS DNS name).")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [8443].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [1].")] = None,
    lpa_ca: Annotated[Path | None, typer.Option(help="Require LPA client certificates from this CA.")] = None,
    operator_ca: Annotated[
        Path | None, typer.Option(help="CA of operator client certificates (ES2+).")
    ] = None,
    keys: KeysOpt = None,
) -> None:
    """Serve ES9+ and ES2+ over HTTPS (TLS only) until interrupted."""
    from openrsp.smdp.server import serve as run_server

    cfg = _config(
        config,
        data,
        db,
        credentials_dir=credentials,
        address=address,
        host=host,
        port=port,
        workers=workers,
        lpa_ca=lpa_ca,
        operator_ca=operator_ca,
        keys_uri=keys,
    )
    run_server(cfg)


# -- profile -----------------------------------------------------------------------------------------


@profile_app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="SAIP profile packages (DER).", show_default=False)],
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    keys: KeysOpt = None,
    operator: OperatorOpt = None,
    profile_type: Annotated[
        str | None, typer.Option(help="Profile type (default: from each package).")
    ] = None,
    profile_class: Annotated[
        str, typer.Option("--class", help="test, provisioning or operational.")
    ] = "operational",
    ppr: PprOpt = None,
    icon: IconOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Import packages, all or none: one unreadable file or known ICCID and nothing is added."""
    from openrsp.smdp.inventory import import_packages

    extras = _extras(ppr, icon)
    cfg = _config(config, data, db)
    database = _database(config, data, db, keys)
    iccids = import_packages(
        database,
        files,
        operator=_operator_name(operator, cfg),
        profile_type=profile_type,
        profile_class=profile_class,
        extras=extras,
    )
    database.engine.dispose()
    typer.echo(json.dumps([{"iccid": i} for i in iccids]) if json_output else "\n".join(iccids))


@profile_app.command()
def generate(
    iccid: Annotated[str | None, typer.Option(help="ICCID; 18 digits get their Luhn digit.")] = None,
    imsi: Annotated[str | None, typer.Option(help="IMSI (MCC MNC MSIN).")] = None,
    ki: Annotated[str | None, typer.Option(help="Ki, hex (default: random).")] = None,
    opc: Annotated[str | None, typer.Option(help="OPc, hex (default: random).")] = None,
    msisdn: Annotated[str | None, typer.Option(help="MSISDN.")] = None,
    spn: Annotated[str | None, typer.Option(help="Service provider name.")] = None,
    name: Annotated[str | None, typer.Option(help="Profile name shown to the user.")] = None,
    profile_class: Annotated[
        str | None, typer.Option("--class", help="test, provisioning or operational.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="One profile per row (header line first).")
    ] = None,
    append_check_digit: Annotated[
        bool, typer.Option(help="Append the Luhn digit to 19-digit ICCIDs too.")
    ] = False,
    profile_type: Annotated[str, typer.Option(help="Profile type for ES2+ ordering.")] = "default",
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    keys: KeysOpt = None,
    operator: OperatorOpt = None,
    out_secrets: Annotated[
        Path | None, typer.Option(help="Write ICCID,IMSI,Ki,OPc here (mode 0600) instead of printing them.")
    ] = None,
    ppr: PprOpt = None,
    icon: IconOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Build SAIP packages from subscriber data and add them to the inventory (all or none)."""
    from openrsp.smdp.inventory import generate_profiles, read_csv_rows, subscriptions_from_rows

    single = {
        "iccid": iccid,
        "imsi": imsi,
        "ki": ki,
        "opc": opc,
        "msisdn": msisdn,
        "spn": spn,
        "profile_name": name,
        "profile_class": profile_class,
    }
    if csv_file is not None:
        if iccid or imsi or ki or opc or msisdn or spn or name or profile_class:
            raise InputError("give either --csv or the single-profile options, not both")
        rows = read_csv_rows(csv_file)
    else:
        if not iccid or not imsi:
            raise InputError("give --iccid and --imsi (or --csv FILE)")
        rows = [{k: v for k, v in single.items() if v is not None}]
    subs = subscriptions_from_rows(rows, append_check_digit=append_check_digit)
    extras = _extras(ppr, icon)
    cfg = _config(config, data, db)
    database = _database(config, data, db, keys)
    generate_profiles(
        database, subs, operator=_operator_name(operator, cfg), profile_type=profile_type, extras=extras
    )
    database.engine.dispose()

    secrets = [
        {"iccid": s.iccid, "imsi": s.imsi, "ki": to_hex(s.ki), "opc": to_hex(s.opc), "msisdn": s.msisdn}
        for s in subs
    ]
    if out_secrets is not None:
        _write_secrets(out_secrets, secrets)
        shown: list[dict[str, Any]] = [{"iccid": s["iccid"]} for s in secrets]
        text = "\n".join(s["iccid"] for s in secrets)
    else:
        shown = secrets
        text = "\n".join(f"{s['iccid']} {s['imsi']} Ki={s['ki']} OPc={s['opc']}" for s in secrets)
    typer.echo(json.dumps(shown) if json_output else text)


def _write_secrets(path: Path, secrets: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["iccid", "imsi", "ki", "opc", "msisdn"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(secrets)
    from openrsp.private_files import write_private_file

    # A new 0600 file renamed over the old one: an existing file's looser mode (or a symlink
    # planted at the name) does not carry over.
    try:
        write_private_file(path, buffer.getvalue().encode())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


@profile_app.command("list")
def list_(
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    keys: KeysOpt = None,
    operator: Annotated[str | None, typer.Option(help="Only this operator's profiles.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """List the inventory: ICCID, state, type, operator."""
    from openrsp.smdp.db import operators, profiles
    from openrsp.smdp.es2.core import status_of

    database = _database(config, data, db, keys)
    with database.transaction() as connection:
        owner_id = None
        now = database.clock()
        if operator is not None:
            owner_id = operators.ensure_operator(connection, operator, now).id
        rows = []
        for profile in profiles.list_profiles(connection, owner_id):
            row = status_of(profile, now)
            row.update(
                imsi=profile.imsi,
                spn=profile.spn,
                name=profile.profile_name,
                profileClass=profile.profile_class,
                profilePolicyRules=(profile.extra or {}).get("ppr", []),
                iconType=profile.icon_type if profile.icon else None,
            )
            rows.append(row)
    database.engine.dispose()
    if json_output:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['iccid']:<20} {row['state']:<11} {row['operator']:<12} {row['profileType']}")


@profile_app.command("remove")
def remove(
    iccids: Annotated[list[str], typer.Argument(help="ICCIDs of the profiles.", show_default=False)],
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    keys: KeysOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Remove profiles no download is under way for (Available, Unavailable, Error, Installed); all or none."""
    from openrsp.smdp.db.profiles import remove_profiles

    database = _database(config, data, db, keys)
    try:
        removed = remove_profiles(database, iccids)
    finally:
        database.engine.dispose()
    if json_output:
        typer.echo(json.dumps([{"iccid": iccid, "state": state} for iccid, state in removed]))
        return
    for iccid, state in removed:
        typer.echo(f"{iccid} removed (was {state})")


# -- keys --------------------------------------------------------------------------------------------


@keys_app.command("import")
def keys_import(
    credentials: Annotated[
        Path, typer.Option(help="`openrsp pki init` folder or SGP.26 folder holding the key files.")
    ],
    to: Annotated[str, typer.Option("--to", help="PKCS#11 URI of the token to import into.")],
    json_output: JsonOpt = False,
) -> None:
    """Copy the DPauth/DPpb private keys into the token (and make its sealing key).

    Then delete the key files and serve with --keys."""
    from openrsp.smdp.keystore import import_credentials

    labels = import_credentials(credentials, to)
    typer.echo(json.dumps([{"label": label} for label in labels]) if json_output else "\n".join(labels))


@keys_app.command("list")
def keys_list(
    keys: Annotated[str, typer.Option("--keys", help="PKCS#11 URI of the token.")],
    json_output: JsonOpt = False,
) -> None:
    """The SM-DP+'s objects in the token: label, kind, key type (never key values)."""
    from openrsp.smdp.keystore import open_keystore

    rows = [{"label": o.label, "kind": o.kind, "type": o.key_type} for o in open_keystore(keys).objects()]
    if json_output:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['label']:<32} {row['kind']:<12} {row['type']}")


@keys_app.command("rotate-seal")
def keys_rotate_seal(
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    keys: KeysOpt = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Move sealing into this token (PKCS#11 URI).")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Re-seal Ki/OPc, packages and session secrets under a new sealing key, in place (SM-DP+ stopped)."""
    from openrsp.smdp.rotation import rotate_seal

    report = rotate_seal(_config(config, data, db, keys_uri=keys), to_uri=to)
    result = {"profiles": report.profiles, "sessions": report.sessions, "key": report.new_key}
    if json_output:
        typer.echo(json.dumps(result))
    else:
        typer.echo(
            f"re-sealed {report.profiles} profiles and {report.sessions} sessions under {report.new_key}"
        )


# -- admin -------------------------------------------------------------------------------------------


@admin_app.callback()
def _admin(
    ctx: typer.Context,
    config: ConfigOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    credentials: Annotated[
        Path | None, typer.Option(help="Credentials folder (for the SM-DP+ address).")
    ] = None,
    address: Annotated[str | None, typer.Option(help="SM-DP+ address for activation codes.")] = None,
    operator: Annotated[
        str | None, typer.Option(help="Act as this operator (default: as each profile's owner).")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Order commands run directly on the SM-DP+'s data (no ES2+ round trip)."""

    def connect():
        from openrsp.smdp.context import open_database, smds_outbox
        from openrsp.smdp.es2.service import Es2Service, OrderDefaults
        from openrsp.smdp.smds_events import SmdsRegistrar
        from openrsp.smdp.tlsfiles import load_credentials, resolve_address

        cfg = _config(config, data, db, credentials_dir=credentials, address=address)
        database = open_database(cfg)
        loaded = load_credentials(cfg.credentials_dir)
        smdp_address = resolve_address(cfg, loaded)
        outbox = smds_outbox(database, loaded)  # a registration the SM-DS misses waits for the server
        service = Es2Service(
            database, operator=operator, address=smdp_address, defaults=OrderDefaults.from_config(cfg),
            smds=SmdsRegistrar(outbox.deliver) if outbox is not None else None,
        )  # fmt: skip
        return service.call, database.engine.dispose

    ctx.obj = OrderTarget(connect, json_output=json_output)


register_order_commands(admin_app)
