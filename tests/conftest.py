"""Fixtures shared by every test: where the read-only inputs are, and how to run the CLI."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OPENRSP_SHARED", REPO_ROOT.parent / "shared"))
SGP26 = SHARED / "sgp26"
TS48 = SHARED / "profiles" / "ts48"
OPENRSP = Path(sys.executable).parent / "openrsp"


def pytest_configure(config: pytest.Config) -> None:
    """Commands run without --data keep their data in the XDG data folder: point it at a private
    temporary folder so a test run writes nothing into the checkout or the user's home."""
    if "OPENRSP_TEST_XDG_DATA" not in os.environ:
        os.environ["OPENRSP_TEST_XDG_DATA"] = tempfile.mkdtemp(prefix="openrsp-test-data-")
    os.environ["XDG_DATA_HOME"] = os.environ["OPENRSP_TEST_XDG_DATA"]


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
pytest_plugins = ["pcsc_fixture", "softhsm_fixture"]
