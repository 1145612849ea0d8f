"""PKI test fixtures: one `openrsp pki init` per test session, loaded certificates, SGP.26 paths."""

import subprocess
import sys
from pathlib import Path

import pytest

from openrsp.pki.certio import load_certificate, load_private_key

OPENRSP = Path(sys.executable).parent / "openrsp"


def run_openrsp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OPENRSP), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    """A PKI made by the real command, both curves, default EID and host (treat as read-only)."""
    directory = tmp_path_factory.mktemp("pki") / "pki"
    result = run_openrsp("pki", "init", str(directory))
    assert result.returncode == 0, result.stderr
    return directory


class Pki:
    """Certificates and keys of one curve of the session PKI, by role."""

    def __init__(self, directory: Path, curve: str) -> None:
        self.directory = directory
        self.curve = curve

    def cert(self, role: str):
        return load_certificate(self.directory / self.curve / f"{role}.cert.pem")

    def key(self, role: str):
        return load_private_key(self.directory / self.curve / f"{role}.key.pem")

    def path(self, role: str) -> Path:
        return self.directory / self.curve / f"{role}.cert.pem"


@pytest.fixture(scope="session", params=["nist", "brp"])
def pki(request, pki_dir) -> Pki:
    return Pki(pki_dir, request.param)


@pytest.fixture(scope="session")
def nist(pki_dir) -> Pki:
    return Pki(pki_dir, "nist")


SGP26_CHAINS = {
    # leaf path (relative to sgp26/) -> (role, needs the EUM as intermediate)
    "eUICC/CERT_EUICC_ECDSA_{c}.der": ("euicc", True),
    "EUM/CERT_EUM_ECDSA_{c}.der": ("eum", False),
    "DPauth/CERT_S_SM_DPauth_ECDSA_{c}.der": ("dpauth", False),
    "DPpb/CERT_S_SM_DPpb_ECDSA_{c}.der": ("dppb", False),
    "DPtls/CERT_S_SM_DP_VARO_TLS_{c}.der": ("dptls", False),
    "CertificateIssuer/CERT_CI_ECDSA_{c}.der": ("ci", False),
}
