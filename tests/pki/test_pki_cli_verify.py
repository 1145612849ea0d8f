"""`openrsp pki verify` and `openrsp pki show` as a user runs them."""

import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from pki_testdata import SGP26_CHAINS, SGP26_EID, SGP26_PKIDS, SGP26_TIME_ISO, run_openrsp

from openrsp.pki.certio import load_certificate, load_private_key
from openrsp.pki.curves import generate_key
from openrsp.pki.eid import make_eid
from openrsp.pki.issue import issue_euicc_certificate


def _one_line_error(result) -> None:
    assert result.returncode != 0
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("curve", ["NIST", "BRP"])
@pytest.mark.parametrize("leaf", sorted(SGP26_CHAINS))
def test_every_sgp26_chain_passes(sgp26_dir, leaf, curve):
    role, needs_eum = SGP26_CHAINS[leaf]
    args = ["pki", "verify", str(sgp26_dir / leaf.format(c=curve)),
            "--ci", str(sgp26_dir / f"CertificateIssuer/CERT_CI_ECDSA_{curve}.pem"), "--at", SGP26_TIME_ISO]  # fmt: skip
    if needs_eum:
        args += ["--untrusted", str(sgp26_dir / f"EUM/CERT_EUM_ECDSA_{curve}.der")]
    result = run_openrsp(*args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["valid"], verdict["rule"]) == (True, None)
    assert verdict["chain"][0]["role"] == role
    assert verdict["chain"][-1]["role"] == "ci" and verdict["chain"][-1]["ski"] == SGP26_PKIDS[curve]
    text = run_openrsp(*args)
    assert text.returncode == 0 and text.stdout.startswith("OK: " + role)


def test_text_output_names_the_chain(sgp26_dir):
    result = run_openrsp(
        "pki", "verify", str(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der"),
        "--ci", str(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
        "--ci", str(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_BRP.der"),
        "--untrusted", str(sgp26_dir / "EUM/CERT_EUM_ECDSA_NIST.der"), "--at", SGP26_TIME_ISO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "OK: euicc -> eum -> ci"
    assert lines[1].split()[0] == "euicc" and SGP26_EID in lines[1]
    assert lines[2].split()[0] == "eum" and "EUM Test" in lines[2]
    assert lines[3].split()[0] == "ci" and SGP26_PKIDS["NIST"] in lines[3]


def test_our_pki_chains_pass(pki_dir):
    for curve in ("nist", "brp"):
        ci = str(pki_dir / curve / "ci.cert.pem")
        for role in ("ci", "eum", "dpauth", "dppb"):
            result = run_openrsp(
                "pki", "verify", str(pki_dir / curve / f"{role}.cert.pem"), "--ci", ci, "--role", role
            )
            assert result.returncode == 0, result.stdout
        result = run_openrsp("pki", "verify", str(pki_dir / curve / "euicc.cert.der"), "--ci", ci,
                             "--untrusted", str(pki_dir / curve / "eum.cert.der"))  # fmt: skip
        assert result.stdout.startswith("OK: euicc -> eum -> ci"), result.stdout
    result = run_openrsp("pki", "verify", str(pki_dir / "tls" / "dptls.chain.pem"),
                         "--ci", str(pki_dir / "nist" / "ci.cert.pem"))  # fmt: skip
    assert result.stdout.startswith("OK: dptls -> ci"), result.stdout


def _verdict(*args: str) -> tuple[int, dict]:
    result = run_openrsp("pki", "verify", *args, "--json")
    return result.returncode, json.loads(result.stdout)


def test_tampered_certificate_is_rejected(pki_dir, tmp_path):
    der = bytearray((pki_dir / "nist" / "dpauth.cert.der").read_bytes())
    der[-3] ^= 0x40
    (tmp_path / "bad.der").write_bytes(bytes(der))
    code, verdict = _verdict(str(tmp_path / "bad.der"), "--ci", str(pki_dir / "nist" / "ci.cert.pem"))
    assert code == 1
    assert (verdict["valid"], verdict["rule"]) == (False, "signature")
    text = run_openrsp(
        "pki", "verify", str(tmp_path / "bad.der"), "--ci", str(pki_dir / "nist" / "ci.cert.pem")
    )
    assert text.returncode == 1 and text.stdout.startswith("INVALID [signature]: ")


def test_expired_and_not_yet_valid_with_at(pki_dir, sgp26_dir):
    ci = str(pki_dir / "nist" / "ci.cert.pem")
    code, verdict = _verdict(
        str(pki_dir / "nist" / "dppb.cert.pem"), "--ci", ci, "--at", "2100-01-01T00:00:00Z"
    )
    assert (code, verdict["rule"]) == (1, "expired")
    code, verdict = _verdict(str(pki_dir / "nist" / "dppb.cert.pem"), "--ci", ci, "--at", "2001-01-01")
    assert (code, verdict["rule"]) == (1, "not-yet-valid")
    varo = str(sgp26_dir / "DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der")
    sgp26_ci = str(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    code, verdict = _verdict(varo, "--ci", sgp26_ci, "--at", "2027-03-01T00:00:00+00:00")
    assert (code, verdict["rule"]) == (1, "expired")


def test_wrong_ci_and_missing_eum(pki_dir, sgp26_dir):
    euicc, eum = str(pki_dir / "brp" / "euicc.cert.pem"), str(pki_dir / "brp" / "eum.cert.pem")
    code, verdict = _verdict(euicc, "--ci", str(pki_dir / "nist" / "ci.cert.pem"), "--untrusted", eum)
    assert (code, verdict["rule"]) == (1, "unknown-issuer")
    code, verdict = _verdict(
        euicc, "--ci", str(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_BRP.der"), "--untrusted", eum
    )
    assert (code, verdict["rule"]) == (1, "unknown-issuer")
    code, verdict = _verdict(euicc, "--ci", str(pki_dir / "brp" / "ci.cert.pem"))
    assert (code, verdict["rule"]) == (1, "unknown-issuer")


def test_eid_outside_the_eum_range_is_rejected(pki_dir, tmp_path):
    eum = load_certificate(pki_dir / "nist" / "eum.cert.pem")
    leaf = issue_euicc_certificate(eum, load_private_key(pki_dir / "nist" / "eum.key.pem"), make_eid("89049032", 3),
                                   generate_key("nist").public_key(), strict=False)  # fmt: skip
    (tmp_path / "outside.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
    code, verdict = _verdict(str(tmp_path / "outside.pem"), "--ci", str(pki_dir / "nist" / "ci.cert.pem"),
                             "--untrusted", str(pki_dir / "nist" / "eum.cert.pem"))  # fmt: skip
    assert (code, verdict["rule"]) == (1, "eid-range")
    assert [link["role"] for link in verdict["chain"]] == ["euicc", "eum", "ci"]


def test_role_option(pki_dir):
    code, verdict = _verdict(str(pki_dir / "nist" / "dpauth.cert.pem"), "--ci", str(pki_dir / "nist" / "ci.cert.pem"),
                             "--role", "dppb")  # fmt: skip
    assert (code, verdict["rule"]) == (1, "policy")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["/no/such/cert.pem", "--ci", "/no/such/ci.pem"], "not found"),
        (["{readme}", "--ci", "{ci}"], "not an X.509 certificate"),
        (["{ci}", "--ci", "{readme}"], "not an X.509 certificate"),
        (["{ci}"], "--ci"),
        (["{ci}", "--ci", "{ci}", "--at", "tomorrow"], "ISO 8601"),
        (["{ci}", "--ci", "{ci}", "--role", "smsr"], "unknown role"),
        (["{dir}", "--ci", "{ci}"], "directory"),
    ],
)
def test_bad_input_is_one_line_error(sgp26_dir, args, needle):
    paths = {"readme": str(sgp26_dir / "README.md"), "ci": str(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
             "dir": str(sgp26_dir)}  # fmt: skip
    result = run_openrsp("pki", "verify", *[a.format(**paths) for a in args])
    _one_line_error(result)
    assert needle in result.stderr


def test_show(sgp26_dir, tmp_path):
    result = run_openrsp("pki", "show", str(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_BRP.der"), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["role"], info["eid"], info["curve"]) == ("euicc", SGP26_EID, "brp")
    text = run_openrsp("pki", "show", str(sgp26_dir / "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der"))
    assert text.returncode == 0 and text.stdout.splitlines()[0].split() == ["role", "dppb"]
    (tmp_path / "junk.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    _one_line_error(run_openrsp("pki", "show", str(tmp_path / "junk.pem")))
