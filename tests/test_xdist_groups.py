"""`make test` runs with `--dist loadgroup`: tests sharing one machine-wide resource (pcscd and vpcd's
slots, one served SM-DP+ pair) carry `xdist_group` and must all run in one worker. pytest 9.2 with
pytest-xdist 3.8 silently stopped honouring the mark (pytest-dev/pytest-xdist#1386), which split the
PC/SC tests over two workers and made one wait for the other's machine-wide lock until it timed out.
This runs a small grouped suite the way `make test` does and checks where each test ran."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("shared")

@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    print("ran-on", os.environ["PYTEST_XDIST_WORKER"])
"""

LOOSE = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_loose(n):
    pass
"""


def test_every_test_of_an_xdist_group_runs_in_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_loose.py").write_text(LOOSE)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    workers = {
        line.split()[0]
        for line in result.stdout.splitlines()
        if line.startswith("[gw") and "PASSED" in line and "test_grouped" in line
    }
    ran = [line for line in result.stdout.splitlines() if "test_grouped" in line and "PASSED" in line]
    assert len(ran) == 6, result.stdout
    assert len(workers) == 1, f"the group was split over {sorted(workers)}:\n" + "\n".join(ran)
