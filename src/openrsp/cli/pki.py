"""`openrsp pki`: create a test PKI, check certificate chains under the SGP.22 rules, show a certificate."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from openrsp.errors import InputError
from openrsp.pki.certio import load_certificates
from openrsp.pki.curves import parse_curves
from openrsp.pki.eid import DEFAULT_EID
from openrsp.pki.issue import DEFAULT_SMDP_HOST, DEFAULT_SMDS_HOST
from openrsp.pki.oids import DEFAULT_SMDS_OID
from openrsp.pki.roles import ROLES, check_role, role_of
from openrsp.pki.testpki import init_pki
from openrsp.pki.verify import ChainError, describe_certificate, verify_chain

app = typer.Typer(
    help="Test PKI: issue SGP.22 certificates, verify chains.", no_args_is_help=True, add_completion=False
)


issue_app = typer.Typer(help="Issue certificates under a CI whose key you hold.", no_args_is_help=True)
app.add_typer(issue_app, name="issue")


@issue_app.command("smds")
def issue_smds(
    out: Annotated[
        Path, typer.Argument(help="Folder to write the SM-DS credentials into.", show_default=False)
    ],
    ci_cert: Annotated[Path, typer.Option("--ci-cert", help="The CI certificate (PEM or DER).")],
    ci_key: Annotated[Path, typer.Option("--ci-key", help="The CI's private key (PEM or DER).")],
    host: Annotated[str, typer.Option("--host", help="The SM-DS host name (TLS certificate).")] = (
        DEFAULT_SMDS_HOST
    ),
    oid: Annotated[str, typer.Option("--oid", help="The SM-DS OID (subjectAltName registeredID).")] = (
        DEFAULT_SMDS_OID
    ),
) -> None:
    """CERT.DSauth and CERT.DS.TLS for an SM-DS, signed by the CI (for `openrsp smds serve --credentials`)."""
    from openrsp.pki.smds_issue import issue_smds_credentials

    issued = issue_smds_credentials(ci_cert, ci_key, host, out, smds_oid=oid)
    typer.echo(f"SM-DS credentials written to {issued.directory}")
    typer.echo(f"  host       {issued.host} (OID {issued.oid})")
    typer.echo(f"  DSauth     {out / 'dsauth.cert.pem'}")
    typer.echo(f"  DS TLS     {out / 'dstls.chain.pem'}")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to write the PKI into.", show_default=False)],
    curve: Annotated[str, typer.Option(help="nist, brp or both.")] = "both",
    eid: Annotated[str, typer.Option(help="EID of the eUICC (32 digits, valid check digits).")] = DEFAULT_EID,
    smdp_host: Annotated[
        str, typer.Option(help="SM-DP+ host name for the TLS certificate.")
    ] = DEFAULT_SMDP_HOST,
    smds_host: Annotated[
        str, typer.Option(help="SM-DS host name for its TLS certificate.")
    ] = DEFAULT_SMDS_HOST,
    force: Annotated[bool, typer.Option(help="Replace a PKI already in the folder.")] = False,
) -> None:
    """Create CI, EUM, eUICC, DPauth, DPpb, DSauth per curve, the SM-DP+ and SM-DS TLS and the LPA/operator
    TLS credentials."""
    index = init_pki(directory, parse_curves(curve), eid, smdp_host, smds_host=smds_host, force=force)
    certs = index.data["certificates"]
    typer.echo(f"PKI written to {directory} (curves: {', '.join(index.curves)})")
    typer.echo(f"  EID        {index.eid}")
    typer.echo(f"  SM-DP+     {index.smdp_host} (OID {index.smdp_oid})")
    typer.echo(f"  SM-DS      {index.smds_host} (OID {index.data['smds_oid']})")
    for name in index.curves:
        typer.echo(f"  CI {name:<7} PKID {certs[name]['ci']['pkid']}")
    typer.echo(f"  TLS        {index.data['certificates']['tls']['dptls']['chain_pem']} ({index.tls_curve})")
    typer.echo(f"  index      {directory / 'index.json'}")


def _load_all(paths: list[Path]) -> list:
    return [cert for path in paths for cert in load_certificates(path)]


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--at: not an ISO 8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _print_chain(chain: list[dict[str, Any]]) -> None:
    for link in chain:
        extra = ""
        if link["role"] == "euicc" and link.get("eid"):
            extra = f"  (EID {link['eid']})"
        elif link["role"] == "ci" and link["ski"]:
            extra = f"  (PKID {link['ski']})"
        typer.echo(f"  {link['role'] or '?':<7} {link['subject']}{extra}")


@app.command()
def verify(
    cert: Annotated[
        Path, typer.Argument(help="Certificate to check (PEM or DER; extra PEM certs = untrusted).")
    ],
    ci: Annotated[
        list[Path] | None, typer.Option("--ci", help="Trusted CI certificate (repeatable).")
    ] = None,
    untrusted: Annotated[
        list[Path] | None, typer.Option("--untrusted", help="Intermediate, e.g. the EUM (repeatable).")
    ] = None,
    role: Annotated[str | None, typer.Option(help=f"Required role of CERT: {', '.join(ROLES)}.")] = None,
    at: Annotated[
        str | None, typer.Option(help="Check validity at this ISO 8601 time (default now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check CERT's chain to a trusted CI under the SGP.22 rules; exit 0 if valid, 1 if not."""
    if not ci:
        raise InputError("give at least one trusted CI certificate with --ci")
    if role is not None:
        check_role(role)
    leaf, *extra = load_certificates(cert)
    trusted = _load_all(ci)
    pool = [*extra, *_load_all(untrusted or [])]
    moment = _parse_time(at)
    try:
        chain = verify_chain(leaf, trusted, pool, role=role, at=moment)
    except ChainError as exc:
        described = [describe_certificate(c, r) for c, r in exc.chain]
        if as_json:
            typer.echo(
                json.dumps({"valid": False, "rule": exc.rule, "message": exc.message, "chain": described})
            )
        else:
            typer.echo(f"INVALID [{exc.rule}]: {exc.message}")
        raise typer.Exit(1) from None
    described = chain.describe()
    if as_json:
        message = f"valid {chain.role} chain"
        typer.echo(json.dumps({"valid": True, "rule": None, "message": message, "chain": described}))
        return
    typer.echo(f"OK: {' -> '.join(chain.roles)}")
    _print_chain(described)


@app.command()
def show(
    cert: Annotated[Path, typer.Argument(help="Certificate (PEM or DER).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show a certificate's SGP.22 role, names, key identifiers, validity (and EID for an eUICC)."""
    certificates = load_certificates(cert)
    described = [describe_certificate(c, role_of(c)) for c in certificates]
    if as_json:
        typer.echo(json.dumps(described if len(described) > 1 else described[0], indent=2))
        return
    for info in described:
        for key, value in info.items():
            typer.echo(f"{key:<12}{value if value is not None else '-'}")
        typer.echo("")
