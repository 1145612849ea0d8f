"""Small shared helpers for the SM-DS tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OPENRSP = Path(sys.executable).parent / "openrsp"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`openrsp ARGS...` as a user runs it."""
    return subprocess.run(
        [str(OPENRSP), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )
