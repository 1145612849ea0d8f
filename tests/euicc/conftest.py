"""Fixtures for the eUICC tests: one test PKI per session, a fresh eUICC per test, an LPA on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # rsp_harness lives next to the tests

from rsp_harness import HarnessSmdp, Rig  # noqa: E402

from openrsp.euicc.store import create_euicc  # noqa: E402
from openrsp.pki.credentials import SmdpCredentials  # noqa: E402
from openrsp.pki.testpki import init_pki  # noqa: E402


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory)
    return directory


@pytest.fixture(scope="session")
def smdp_credentials(pki_dir: Path) -> SmdpCredentials:
    return SmdpCredentials.load(pki_dir)


@pytest.fixture
def euicc_dir(tmp_path: Path, pki_dir: Path) -> Path:
    directory = tmp_path / "euicc"
    create_euicc(directory, pki=pki_dir, default_smdp="smdp.openrsp.test")
    return directory


@pytest.fixture
def rig(euicc_dir: Path, smdp_credentials: SmdpCredentials) -> Rig:
    return Rig(euicc_dir, HarnessSmdp(smdp_credentials.sets[0]), smdp_credentials)
