"""Fixtures for the network tests: one test PKI per session, eUICCs holding chosen subscriptions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # network_support lives next to the tests

from openrsp.euicc.store import create_euicc  # noqa: E402
from openrsp.pki.testpki import init_pki  # noqa: E402
from openrsp.profile import Subscription, generate_package  # noqa: E402


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory, curves=("nist",))
    return directory


@pytest.fixture
def make_card(tmp_path: Path, pki_dir: Path) -> Callable[[Subscription], Path]:
    """A fresh eUICC folder whose only profile (enabled) is built from the subscription."""
    counter = iter(range(1000))

    def make(sub: Subscription) -> Path:
        directory = tmp_path / f"euicc{next(counter)}"
        create_euicc(directory, pki=pki_dir, provisioning_profile=generate_package(sub))
        return directory

    return make
