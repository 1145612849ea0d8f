"""TS.48 packages for the profile tests: `ts48_package` runs a test once per package file."""

import os
from pathlib import Path

import pytest

# The same place tests/conftest.py looks (importing that module by name is not reliable here).
SHARED = Path(os.environ.get("OPENRSP_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
TS48 = SHARED / "profiles" / "ts48"

TS48_FILES = sorted(TS48.glob("*.der"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ts48_package" in metafunc.fixturenames:
        metafunc.parametrize("ts48_package", TS48_FILES, ids=[p.name for p in TS48_FILES])


@pytest.fixture(scope="session")
def ts48_sample() -> Path:
    """One SAIP 2.3 package with a USIM, ISIM, CSIM and 5G files, for shape comparisons."""
    return TS48 / "TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der"
