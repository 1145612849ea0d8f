"""Fixtures for the fuzz targets: one test PKI per session, real cards, a real SM-DP+ service in process."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

_TESTS = Path(__file__).resolve().parent.parent
# The fuzz targets drive the same harnesses as the eUICC and SM-DP+ tests.
for folder in ("fuzz", "euicc", "smdp"):
    if str(_TESTS / folder) not in sys.path:
        sys.path.insert(0, str(_TESTS / folder))

# hypothesis keeps a cache of its own; it belongs in a temporary folder, not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "openrsp-hypothesis")

from openrsp.pki.credentials import SmdpCredentials  # noqa: E402
from openrsp.pki.testpki import init_pki  # noqa: E402


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz-pki") / "pki"
    init_pki(directory)
    return directory


@pytest.fixture(scope="session")
def smdp_credentials(pki_dir: Path) -> SmdpCredentials:
    return SmdpCredentials.load(pki_dir)


@pytest.fixture(scope="session")
def card_world(tmp_path_factory: pytest.TempPathFactory, pki_dir: Path, smdp_credentials, ts48_dir: Path):
    from worlds import build_card_world

    return build_card_world(
        tmp_path_factory.mktemp("fuzz-card") / "euicc", pki_dir, smdp_credentials, ts48_dir
    )


@pytest.fixture(scope="session")
def smdp_world(tmp_path_factory: pytest.TempPathFactory, pki_dir: Path, smdp_credentials, ts48_dir: Path):
    from worlds import build_smdp_world

    yield from build_smdp_world(tmp_path_factory.mktemp("fuzz-smdp"), pki_dir, smdp_credentials, ts48_dir)
