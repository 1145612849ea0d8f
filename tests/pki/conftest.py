"""PKI test fixtures: one `openrsp pki init` per test session, loaded certificates, SGP.26 paths."""

from pathlib import Path

import pytest
from pki_testdata import run_openrsp

from openrsp.pki.certio import load_certificate, load_private_key


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
