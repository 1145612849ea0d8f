"""`openrsp pki init`: a complete test PKI on disk, per curve, plus the TLS credentials around it."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.errors import InputError
from openrsp.hexutil import to_hex
from openrsp.pki import issue, layout, oids
from openrsp.pki.certio import (
    certificate_pem,
    display_name,
    write_certificate,
    write_file,
    write_private_key,
)
from openrsp.pki.curves import check_curve, generate_key
from openrsp.pki.eid import DEFAULT_EID, eid_from_certificate, eum_permitted_eids, validate_eid
from openrsp.pki.layout import PkiIndex
from openrsp.private_files import ensure_private_dir

KeyFactory = Callable[[str], ec.EllipticCurvePrivateKey]


class PkiExistsError(InputError):
    """The target folder already holds a PKI and --force was not given."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ski_hex(cert: x509.Certificate) -> str:
    return to_hex(cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)


def _save(
    directory: Path,
    group: str,
    role: str,
    curve: str,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
) -> dict[str, Any]:
    stem = layout.base(group, role)
    write_certificate(directory / stem, cert)
    write_private_key(directory / stem, key)
    return {
        "role": role,
        "curve": curve,
        "cert_pem": stem + ".cert.pem",
        "cert_der": stem + ".cert.der",
        "key": stem + ".key.pem",
        "subject": display_name(cert.subject),
        "issuer": display_name(cert.issuer),
        "serial": to_hex(
            cert.serial_number.to_bytes(max(1, (cert.serial_number.bit_length() + 7) // 8), "big")
        ),
        "ski": _ski_hex(cert),
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
    }


def _check_target(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} exists and is not a folder")
    existing = [name for name in layout.all_layout_files() if (directory / name).exists()]
    if existing and not force:
        raise PkiExistsError(f"{directory} already holds a PKI ({existing[0]}); use --force to replace it")
    for name in existing:  # --force: drop only files this layout owns, so no stale curve survives
        (directory / name).unlink()
    for group in layout.GROUP_ROLES:
        folder = directory / group
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _gsma_set(
    directory: Path, curve: str, eid: str, smdp_oid: str, now: datetime, new_key: KeyFactory
) -> tuple[dict[str, Any], x509.Certificate, ec.EllipticCurvePrivateKey]:
    """CI, EUM, eUICC, DPauth and DPpb on one curve; returns index entries and the CI."""
    ci_key = new_key(curve)
    ci = issue.issue_ci_certificate(ci_key, not_before=now)
    eum_key = new_key(curve)
    eum = issue.issue_eum_certificate(
        ci, ci_key, eum_key.public_key(), permitted_eins=[eid[:8]], not_before=now
    )
    euicc_key = new_key(curve)
    euicc = issue.issue_euicc_certificate(eum, eum_key, eid, euicc_key.public_key(), not_before=now)
    dpauth_key, dppb_key = new_key(curve), new_key(curve)
    dpauth = issue.issue_dpauth_certificate(
        ci, ci_key, dpauth_key.public_key(), smdp_oid=smdp_oid, not_before=now
    )
    dppb = issue.issue_dppb_certificate(ci, ci_key, dppb_key.public_key(), smdp_oid=smdp_oid, not_before=now)
    dsauth_key = new_key(curve)
    dsauth = issue.issue_dsauth_certificate(ci, ci_key, dsauth_key.public_key(), not_before=now)
    entries = {
        "ci": _save(directory, curve, "ci", curve, ci, ci_key) | {"pkid": _ski_hex(ci)},
        "eum": _save(directory, curve, "eum", curve, eum, eum_key)
        | {"permitted_eins": eum_permitted_eids(eum)},
        "euicc": _save(directory, curve, "euicc", curve, euicc, euicc_key)
        | {"eid": eid_from_certificate(euicc)},
        "dpauth": _save(directory, curve, "dpauth", curve, dpauth, dpauth_key),
        "dppb": _save(directory, curve, "dppb", curve, dppb, dppb_key),
        "dsauth": _save(directory, curve, "dsauth", curve, dsauth, dsauth_key),
    }
    return entries, ci, ci_key


def _client_tls(
    directory: Path,
    group: str,
    curve: str,
    ca_name: str,
    client_name: str,
    now: datetime,
    new_key: KeyFactory,
) -> dict[str, Any]:
    ca_key, client_key = new_key(curve), new_key(curve)
    ca = issue.issue_tls_ca_certificate(ca_key, ca_name, not_before=now)
    client = issue.issue_tls_client_certificate(
        ca, ca_key, client_key.public_key(), client_name, not_before=now
    )
    return {
        "ca": _save(directory, group, "ca", curve, ca, ca_key),
        "client": _save(directory, group, "client", curve, client, client_key),
    }


def _check_oid(text: str) -> None:
    try:
        x509.ObjectIdentifier(text)
    except ValueError:
        raise InputError(f"not a valid OID: {text!r}") from None


def init_pki(
    directory: Path | str,
    curves: Sequence[str] = ("nist", "brp"),
    eid: str = DEFAULT_EID,
    smdp_host: str = issue.DEFAULT_SMDP_HOST,
    *,
    smds_host: str = issue.DEFAULT_SMDS_HOST,
    force: bool = False,
    now: datetime | None = None,
    smdp_oid: str = oids.DEFAULT_SMDP_OID,
    new_key: KeyFactory = generate_key,
) -> PkiIndex:
    """Issue CI, EUM, eUICC, DPauth, DPpb, DSauth per curve, the SM-DP+ and SM-DS TLS certificates
    (NIST unless only brainpool is asked for), and LPA / operator TLS client credentials; write them
    and index.json."""
    directory = Path(directory)
    curves = list(dict.fromkeys(check_curve(c) for c in curves))
    if not curves:
        raise InputError("at least one curve is needed")
    eid = validate_eid(eid)
    smdp_host = smdp_host.strip().lower()
    smds_host = smds_host.strip().lower()
    issue.host_name(smdp_host)  # reject a bad host before any file is written
    issue.host_name(smds_host)
    _check_oid(smdp_oid)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    _check_target(directory, force)
    ensure_private_dir(directory)

    certificates: dict[str, dict[str, Any]] = {}
    cis = {}
    for curve in curves:
        certificates[curve], ci, ci_key = _gsma_set(directory, curve, eid, smdp_oid, now, new_key)
        cis[curve] = (ci, ci_key)

    tls_curve = "nist" if "nist" in curves else "brp"
    ci, ci_key = cis[tls_curve]
    tls_key = new_key(tls_curve)
    tls = issue.issue_dptls_certificate(
        ci, ci_key, tls_key.public_key(), smdp_host, smdp_oid=smdp_oid, not_before=now
    )
    tls_entry = _save(directory, layout.TLS_GROUP, "dptls", tls_curve, tls, tls_key)
    write_file(directory / layout.TLS_CHAIN, certificate_pem(tls) + certificate_pem(ci))
    ds_tls_key = new_key(tls_curve)
    ds_tls = issue.issue_dstls_certificate(ci, ci_key, ds_tls_key.public_key(), smds_host, not_before=now)
    ds_tls_entry = _save(directory, layout.TLS_GROUP, "dstls", tls_curve, ds_tls, ds_tls_key)
    write_file(directory / layout.DS_TLS_CHAIN, certificate_pem(ds_tls) + certificate_pem(ci))
    certificates[layout.TLS_GROUP] = {
        "dptls": tls_entry | {"chain_pem": layout.TLS_CHAIN},
        "dstls": ds_tls_entry | {"chain_pem": layout.DS_TLS_CHAIN},
    }
    certificates[layout.LPA_GROUP] = _client_tls(
        directory, layout.LPA_GROUP, tls_curve, "openrsp LPA TLS CA", "openrsp LPA", now, new_key
    )
    certificates[layout.OPERATOR_GROUP] = _client_tls(
        directory,
        layout.OPERATOR_GROUP,
        tls_curve,
        "openrsp Operator TLS CA",
        "openrsp-operator",
        now,
        new_key,
    )

    index = PkiIndex(
        directory,
        {
            "format": layout.FORMAT,
            "created": _iso(now),
            "eid": eid,
            "smdp_host": smdp_host,
            "smdp_oid": smdp_oid,
            "smds_host": smds_host,
            "smds_oid": oids.DEFAULT_SMDS_OID,
            "curves": curves,
            "tls_curve": tls_curve,
            "certificates": certificates,
        },
    )
    index.write()  # last: a folder without index.json is not a finished PKI
    return index
