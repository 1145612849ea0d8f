"""Fixtures shared by every test: where the read-only inputs are, and how to run the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OPENRSP_SHARED", REPO_ROOT.parent / "shared"))
SGP26 = SHARED / "sgp26"
TS48 = SHARED / "profiles" / "ts48"
OPENRSP = Path(sys.executable).parent / "openrsp"


@pytest.fixture(scope="session")
def sgp26_dir() -> Path:
    assert SGP26.is_dir(), f"SGP.26 test credentials not found at {SGP26}"
    return SGP26


@pytest.fixture(scope="session")
def ts48_dir() -> Path:
    assert TS48.is_dir(), f"TS.48 profiles not found at {TS48}"
    return TS48


def run_cli(
    *args: str,
    input: str | None = None,
    check: bool = False,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `openrsp` command as a user would, capturing its output."""
    result = subprocess.run(
        [str(OPENRSP), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openrsp {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture
def cli():
    return run_cli


# The `pcsc` fixture (pcscd with vpcd's readers, one test session per machine): tests/pcsc_fixture.py.
pytest_plugins = ["pcsc_fixture"]
