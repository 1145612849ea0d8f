"""`openrsp pki issue smds`: an SM-DS's certificates (CERT.DSauth, CERT.DS.TLS) under a CI whose key you hold.

The folder it writes is what `openrsp smds serve --credentials DIR` reads (besides a `pki init` folder):

    OUT/ci.cert.pem                     the CI (eUICCs and SM-DP+s trust it; the SM-DS names it)
    OUT/dsauth.{cert.pem,cert.der,key.pem}  signs ES11 serverSigned1
    OUT/dstls.{cert.pem,cert.der,key.pem}   ES11/ES12/ES15 HTTPS (server and ES15 client)
    OUT/dstls.chain.pem                 leaf + CI
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openrsp.errors import InputError
from openrsp.pki import issue, oids
from openrsp.pki.certio import (
    certificate_pem,
    load_certificate,
    load_private_key,
    write_certificate,
    write_file,
    write_private_key,
)
from openrsp.pki.curves import curve_of, generate_key
from openrsp.pki.roles import role_of
from openrsp.pki.verify import ski_of

CI_FILE = "ci.cert.pem"
DSAUTH = "dsauth"
DSTLS = "dstls"
DSTLS_CHAIN = "dstls.chain.pem"


@dataclass(frozen=True)
class IssuedSmds:
    directory: Path
    host: str
    oid: str


def issue_smds_credentials(
    ci_cert_path: Path, ci_key_path: Path, host: str, out: Path, *, smds_oid: str = oids.DEFAULT_SMDS_OID
) -> IssuedSmds:
    """CERT.DSauth and CERT.DS.TLS for `host`, signed by the CI; written to `out` (keys 0600)."""
    ci = load_certificate(ci_cert_path)
    ci_key = load_private_key(ci_key_path)
    if role_of(ci) != "ci" or ski_of(ci) is None:
        raise InputError(f"{ci_cert_path} is not a CI certificate (policy {oids.POLICY_CI.dotted_string})")
    host = host.strip().lower()
    issue.host_name(host)  # a bad name fails before any file is written
    curve_name = curve_of(ci.public_key())
    if curve_name is None:
        raise InputError(f"{ci_cert_path}: the CI key is not on an SGP.22 curve")
    auth_key, tls_key = generate_key(curve_name), generate_key(curve_name)
    dsauth = issue.issue_dsauth_certificate(ci, ci_key, auth_key.public_key(), smds_oid=smds_oid)
    dstls = issue.issue_dstls_certificate(ci, ci_key, tls_key.public_key(), host, smds_oid=smds_oid)
    out.mkdir(parents=True, exist_ok=True)
    write_file(out / CI_FILE, certificate_pem(ci))
    for stem, cert, key in ((DSAUTH, dsauth, auth_key), (DSTLS, dstls, tls_key)):
        write_certificate(out / stem, cert)
        write_private_key(out / stem, key)
    write_file(out / DSTLS_CHAIN, certificate_pem(dstls) + certificate_pem(ci))
    return IssuedSmds(out, host, smds_oid)
