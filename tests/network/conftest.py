"""Fixtures for the network tests: one test PKI per session, and cards holding chosen subscriptions."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from openrsp.euicc.store import open_card
from openrsp.lpa.transport import InProcessTransport
from openrsp.network.device import Modem
from openrsp.pki.testpki import init_pki
from openrsp.profile import Subscription, generate_package

PP_IMSI = "001019900000001"  # inside the provisioning range the tests configure
OP_IMSI = "001010123456789"
PP_RANGE = "0010199*"


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory, curves=("nist",))
    return directory


def subscription(imsi: str, *, profile_class: str = "operational", iccid: str = "8900100000000000017") -> Subscription:
    return Subscription(
        iccid=iccid, imsi=imsi, ki=os.urandom(16), opc=os.urandom(16), profile_class=profile_class  # type: ignore[arg-type]
    )


@pytest.fixture
def make_card(tmp_path: Path, pki_dir: Path) -> Callable[[Subscription], Path]:
    """A fresh eUICC folder whose (only, enabled) profile is built from `sub`."""
    from openrsp.euicc.store import create_euicc

    counter = iter(range(1000))

    def make(sub: Subscription) -> Path:
        directory = tmp_path / f"euicc{next(counter)}"
        create_euicc(directory, pki=pki_dir, provisioning_profile=generate_package(sub))
        return directory

    return make


def modem_for(directory: Path, profile_class: str | None = None) -> Modem:
    return Modem(InProcessTransport(open_card(directory)), profile_class=(lambda: profile_class) if profile_class else None)
