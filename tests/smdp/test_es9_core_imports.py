"""The ES9+ and ES2+ services are cores with storage and HTTP around them: importing the ES9+
service, or the ES2+ core, loads neither SQLAlchemy nor the HTTP layer nor the SM-DP+'s storage
modules (ES9+ works through es9/views.py's interface; ES2+ decides on plain rows, smdp/rows.py)."""

import subprocess
import sys

import pytest

FORBIDDEN = ("sqlalchemy", "starlette", "uvicorn", "httpx", "psycopg")
STORAGE = ("openrsp.smdp.db", "openrsp.smdp.http", "openrsp.smdp.context", "openrsp.smdp.es9.store")


@pytest.mark.parametrize("core", ["openrsp.smdp.es9.service", "openrsp.smdp.es2.core"])
def test_the_cores_import_no_storage_and_no_http(core):
    probe = (
        f"import sys, {core}\n"
        f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}"
        f" or m.startswith({STORAGE!r}) or m == 'openrsp.smdp.es2.service'))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
