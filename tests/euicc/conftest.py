"""Fixtures for the eUICC tests: one test PKI per session, a fresh eUICC per test, an LPA on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # rsp_harness lives next to the tests

from rsp_harness import Lpa, HarnessSmdp  # noqa: E402

from openrsp.euicc.store import card_for, create_euicc, open_euicc  # noqa: E402
from openrsp.lpa.es10_client import Es10Client  # noqa: E402
from openrsp.lpa.transport import InProcessTransport  # noqa: E402
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


class Rig:
    """An eUICC opened from its folder, its card, an LPA-side ES10 client and a test SM-DP+."""

    def __init__(self, directory: Path, smdp: HarnessSmdp, credentials: SmdpCredentials | None = None) -> None:
        self.directory = directory
        self.smdp = smdp
        self.smdp_credentials = credentials
        self.smdp_sets = credentials.sets if credentials else (smdp.ci_set,)
        self.reopen()

    def reopen(self) -> None:
        """A power cycle: the process forgets everything but the folder."""
        self.euicc = open_euicc(self.directory)
        self.card = card_for(self.euicc)
        self.client = Es10Client(InProcessTransport(self.card))
        self.lpa = Lpa(self.client.call, self.smdp, self.euicc.state.eid)

    def reset_card(self) -> None:
        """A card reset (same process): channels and everything volatile are gone."""
        self.card.reset()
        self.client = Es10Client(InProcessTransport(self.card))
        self.lpa.call = self.client.call

    @property
    def state_bytes(self) -> bytes:
        return (self.directory / "state.json").read_bytes()


@pytest.fixture
def rig(euicc_dir: Path, smdp_credentials: SmdpCredentials) -> Rig:
    return Rig(euicc_dir, HarnessSmdp(smdp_credentials.sets[0]), smdp_credentials)
