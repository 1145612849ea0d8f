"""SM-DS fixtures: a test PKI whose SM-DS certificate names 127.0.0.1, SM-DS and SM-DP+ processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The SM-DP+ process and the LPA runner of the end-to-end tests (tests/e2e/lpa_support.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))

from lpa_support import Smdp  # noqa: E402
from smds_support import Smds  # noqa: E402

from openrsp.pki.testpki import init_pki  # noqa: E402


@pytest.fixture(scope="session")
def smds_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("smds") / "pki"
    init_pki(directory, curves=("nist",), smds_host="127.0.0.1")
    return directory


@pytest.fixture(scope="module")
def smds(smds_pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smds]:
    server = Smds(smds_pki, tmp_path_factory.mktemp("smds-data") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def smdp(smds_pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smdp]:
    server = Smdp(smds_pki, tmp_path_factory.mktemp("smdp") / "data").start()
    try:
        yield server
    finally:
        server.stop()
