"""The ES9+ service is a core with storage and HTTP around it: importing it loads neither SQLAlchemy
nor the HTTP layer nor the SM-DP+'s storage modules (it works through es9/views.py's interface)."""

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "starlette", "uvicorn", "httpx", "psycopg")
STORAGE = ("openrsp.smdp.db", "openrsp.smdp.http", "openrsp.smdp.context", "openrsp.smdp.repository")


def test_the_es9_service_imports_no_storage_and_no_http():
    probe = (
        "import sys, openrsp.smdp.es9.service\n"
        f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}"
        f" or m.startswith({STORAGE!r}) or m == 'openrsp.smdp.es9.store'))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
