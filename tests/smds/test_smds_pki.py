"""The SM-DS certificates: `pki init` issues them, `pki issue smds` issues them under any CI whose key you
hold (the SGP.26 CI here), `pki verify`/`pki show` know their roles, and openssl accepts the chains."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from smds_support import run

from openrsp.pki import oids
from openrsp.pki.certio import load_certificate, load_private_key
from openrsp.pki.roles import role_of
from openrsp.pki.testpki import init_pki

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("smds-pki") / "pki"
    init_pki(directory, smds_host="ds.example.test")
    return directory


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_pki_init_issues_dsauth_per_curve_and_ds_tls(pki: Path) -> None:
    for curve in ("nist", "brp"):
        dsauth = load_certificate(pki / curve / "dsauth.cert.pem")
        assert role_of(dsauth) == "dsauth"
        policies = dsauth.extensions.get_extension_for_class(x509.CertificatePolicies).value
        assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.146.1.2.1.7"]
        assert _san(dsauth).get_values_for_type(x509.RegisteredID) == [x509.ObjectIdentifier("2.999.15")]
        assert dsauth.issuer == load_certificate(pki / curve / "ci.cert.pem").subject
        mode = stat.S_IMODE((pki / curve / "dsauth.key.pem").stat().st_mode)
        assert mode == 0o600
    tls = load_certificate(pki / "tls" / "dstls.cert.pem")
    assert role_of(tls) == "dstls"
    assert oids.POLICY_DSTLS.dotted_string == "2.23.146.1.2.1.6"
    assert _san(tls).get_values_for_type(x509.DNSName) == ["ds.example.test"]
    index = json.loads((pki / "index.json").read_text())
    assert index["smds_host"] == "ds.example.test"
    assert index["certificates"]["tls"]["dstls"]["chain_pem"] == "tls/dstls.chain.pem"


def test_openssl_accepts_the_ds_tls_chain_for_server_and_client_use(pki: Path) -> None:
    assert OPENSSL, "openssl is needed (bootstrap installs it)"
    for purpose in ("sslserver", "sslclient"):
        result = subprocess.run(
            [OPENSSL, "verify", "-x509_strict", "-purpose", purpose, "-CAfile", str(pki / "nist" / "ci.cert.pem"),
             str(pki / "tls" / "dstls.cert.pem")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr


def test_pki_issue_smds_under_the_sgp26_ci(sgp26_dir: Path, tmp_path: Path) -> None:
    ci_cert = sgp26_dir / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.pem"
    ci_key = sgp26_dir / "CertificateIssuer" / "SK_CI_ECDSA_NIST.pem"
    out = tmp_path / "smds"
    result = run("pki", "issue", "smds", "--ci-cert", str(ci_cert), "--ci-key", str(ci_key),
                 "--host", "smds.example.org", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    for role in ("dsauth", "dstls"):
        cert = load_certificate(out / f"{role}.cert.pem")
        assert load_private_key(out / f"{role}.key.pem").public_key() == cert.public_key()
        assert stat.S_IMODE((out / f"{role}.key.pem").stat().st_mode) == 0o600
        verdict = run("pki", "verify", str(out / f"{role}.cert.pem"), "--ci", str(ci_cert), "--role", role,
                      "--json")  # fmt: skip
        assert verdict.returncode == 0, verdict.stdout
        assert json.loads(verdict.stdout)["chain"][0]["role"] == role
    shown = json.loads(run("pki", "show", str(out / "dstls.cert.pem"), "--json").stdout)
    assert shown["role"] == "dstls"
    assert _san(load_certificate(out / "dstls.cert.pem")).get_values_for_type(x509.DNSName) == [
        "smds.example.org"
    ]


def test_pki_issue_smds_refuses_a_non_ci_certificate(pki: Path, tmp_path: Path) -> None:
    result = run("pki", "issue", "smds", "--ci-cert", str(pki / "nist" / "eum.cert.pem"),
                 "--ci-key", str(pki / "nist" / "eum.key.pem"), str(tmp_path / "out"))  # fmt: skip
    assert result.returncode != 0
    assert "not a CI certificate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_dsauth_certificate_is_not_a_dpauth(pki: Path) -> None:
    verdict = run("pki", "verify", str(pki / "nist" / "dsauth.cert.pem"), "--ci", str(pki / "nist" / "ci.cert.pem"),
                  "--role", "dpauth", "--json")  # fmt: skip
    assert verdict.returncode == 1
    assert json.loads(verdict.stdout)["rule"] == "policy"
