"""`openrsp pki init`: the layout others rely on, and chains that plain `openssl verify` accepts."""

import json
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from pki_testdata import run_openrsp

from openrsp.pki.certio import load_certificate, load_private_key
from openrsp.pki.curves import curve_of
from openrsp.pki.eid import eid_from_certificate, eum_permitted_eids, make_eid

ROLES = ("ci", "eum", "euicc", "dpauth", "dppb")
OPENSSL = shutil.which("openssl")


def openssl_verify(ca, leaf, *untrusted, purpose=None):
    args = [OPENSSL, "verify", "-x509_strict", "-CAfile", str(ca)]
    for path in untrusted:
        args += ["-untrusted", str(path)]
    if purpose:
        args += ["-purpose", purpose]
    return subprocess.run([*args, str(leaf)], capture_output=True, text=True, timeout=60)


def test_layout_files_and_private_key_modes(pki_dir):
    groups = {"nist": ROLES, "brp": ROLES, "tls": ("dptls",), "lpa-tls": ("ca", "client"),
              "operator-tls": ("ca", "client")}  # fmt: skip
    for group, roles in groups.items():
        for role in roles:
            for suffix in (".cert.pem", ".cert.der", ".key.pem"):
                assert (pki_dir / group / f"{role}{suffix}").is_file(), f"{group}/{role}{suffix}"
            key_mode = stat.S_IMODE((pki_dir / group / f"{role}.key.pem").stat().st_mode)
            assert key_mode == 0o600, f"{group}/{role}.key.pem is {oct(key_mode)}"
            cert = load_certificate(pki_dir / group / f"{role}.cert.pem")
            assert load_certificate(pki_dir / group / f"{role}.cert.der") == cert
            assert load_private_key(pki_dir / group / f"{role}.key.pem").public_key() == cert.public_key()
    chain = (pki_dir / "tls" / "dptls.chain.pem").read_text()
    assert chain.count("BEGIN CERTIFICATE") == 2
    assert chain.endswith((pki_dir / "nist" / "ci.cert.pem").read_text())


def test_index_describes_the_pki(pki_dir):
    index = json.loads((pki_dir / "index.json").read_text())
    assert index["eid"] == "89001012012341234012345678901224"
    assert index["smdp_host"] == "smdp.openrsp.test"
    assert index["curves"] == ["nist", "brp"]
    assert index["tls_curve"] == "nist"
    for curve in ("nist", "brp"):
        ci_entry = index["certificates"][curve]["ci"]
        ci = load_certificate(pki_dir / ci_entry["cert_pem"])
        ski = ci.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        assert ci_entry["pkid"] == ski.hex().upper()
        assert curve_of(ci.public_key()) == curve
        euicc_entry = index["certificates"][curve]["euicc"]
        assert euicc_entry["eid"] == index["eid"]
        assert "serialNumber=" + index["eid"] in euicc_entry["subject"]
    assert index["certificates"]["tls"]["dptls"]["chain_pem"] == "tls/dptls.chain.pem"


def test_certificates_carry_the_sgp22_profile(pki_dir):
    euicc = load_certificate(pki_dir / "nist" / "euicc.cert.pem")
    assert eid_from_certificate(euicc) == "89001012012341234012345678901224"
    assert eum_permitted_eids(load_certificate(pki_dir / "nist" / "eum.cert.pem")) == ["89001012"]
    tls = load_certificate(pki_dir / "tls" / "dptls.cert.pem")
    san = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["smdp.openrsp.test"]
    assert [o.dotted_string for o in san.get_values_for_type(x509.RegisteredID)] == ["2.999.10"]
    eku = tls.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    client = load_certificate(pki_dir / "operator-tls" / "client.cert.pem")
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_openssl_accepts_every_gsma_chain(pki_dir, curve):
    base = pki_dir / curve
    result = openssl_verify(base / "ci.cert.pem", base / "euicc.cert.pem", base / "eum.cert.pem")
    assert result.returncode == 0 and ": OK" in result.stdout, result.stdout + result.stderr
    for role in ("eum", "dpauth", "dppb"):
        result = openssl_verify(base / "ci.cert.pem", base / f"{role}.cert.pem")
        assert result.returncode == 0 and ": OK" in result.stdout, result.stdout + result.stderr


def test_openssl_accepts_the_tls_chains(pki_dir):
    checks = [
        ("nist/ci.cert.pem", "tls/dptls.cert.pem", "sslserver"),
        ("lpa-tls/ca.cert.pem", "lpa-tls/client.cert.pem", "sslclient"),
        ("operator-tls/ca.cert.pem", "operator-tls/client.cert.pem", "sslclient"),
    ]
    for ca, leaf, purpose in checks:
        result = openssl_verify(pki_dir / ca, pki_dir / leaf, purpose=purpose)
        assert result.returncode == 0 and ": OK" in result.stdout, result.stdout + result.stderr


def test_refuses_to_overwrite_without_force(pki_dir, tmp_path):
    target = tmp_path / "again"
    shutil.copytree(pki_dir, target)
    before = (target / "nist" / "ci.cert.der").read_bytes()
    result = run_openrsp("pki", "init", str(target))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "--force" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (target / "nist" / "ci.cert.der").read_bytes() == before

    eid = make_eid("89049032", 77)
    result = run_openrsp("pki", "init", str(target), "--force", "--curve", "brp", "--eid", eid,
                         "--smdp-host", "rsp.example.org")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (target / "nist").exists()  # the old NIST set is gone, not left stale
    index = json.loads((target / "index.json").read_text())
    assert (index["curves"], index["eid"], index["tls_curve"]) == (["brp"], eid, "brp")
    assert eid_from_certificate(load_certificate(target / "brp" / "euicc.cert.pem")) == eid
    tls = load_certificate(target / "tls" / "dptls.cert.pem")
    assert curve_of(tls.public_key()) == "brp"  # brainpool only: the TLS certificate follows
    san = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["rsp.example.org"]
    result = openssl_verify(
        target / "brp" / "ci.cert.pem", target / "tls" / "dptls.cert.pem", purpose="sslserver"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nist_only(tmp_path):
    result = run_openrsp("pki", "init", str(tmp_path / "p"), "--curve", "nist")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "p" / "brp").exists()
    assert curve_of(load_certificate(tmp_path / "p" / "tls" / "dptls.cert.pem").public_key()) == "nist"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--curve", "p384"], "unknown curve"),
        (["--eid", "89001012012341234012345678901225"], "check digits"),
        (["--eid", "1234"], "32 decimal digits"),
        (["--smdp-host", "bad host!"], "host name"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, args, needle):
    result = run_openrsp("pki", "init", str(tmp_path / "p"), *args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "p").exists()  # nothing written for bad input
