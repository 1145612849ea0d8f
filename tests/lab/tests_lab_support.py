"""Constants the lab tests share."""

import sys
from pathlib import Path

OPENRSP = Path(sys.executable).parent / "openrsp"
CHROMIUM = "/usr/bin/chromium"
