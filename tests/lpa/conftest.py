"""LPA fixtures: a test PKI for the session and a fresh virtual eUICC (in-process) per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from openrsp.euicc.store import create_euicc, open_card
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.pki.testpki import init_pki


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lpa-pki") / "pki"
    init_pki(directory)
    return directory


@pytest.fixture
def euicc_dir(pki_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "euicc"
    create_euicc(directory, pki=pki_dir)
    return directory


@pytest.fixture
def es10(euicc_dir: Path) -> Es10:
    """The LPA's ES10 functions on the card in euicc_dir, over APDUs (STORE DATA, GET RESPONSE)."""
    return Es10(Es10Client(InProcessTransport(open_card(euicc_dir))))
