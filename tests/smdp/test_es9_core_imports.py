"""The ES9+ and ES2+ cores have storage and HTTP around them: importing the ES9+ core (the service,
its pure decisions, their snapshots and effects) or the ES2+ core loads neither SQLAlchemy nor the
HTTP layer nor the SM-DP+'s storage modules (ES9+ works through es9/views.py's interface, which
es9/store.py implements; ES2+ decides on plain rows, smdp/rows.py)."""

import subprocess
import sys

import pytest

FORBIDDEN = ("sqlalchemy", "starlette", "uvicorn", "httpx", "psycopg")
STORAGE = ("openrsp.smdp.db", "openrsp.smdp.http", "openrsp.smdp.context")
STORAGE_MODULES = ("openrsp.smdp.es9.store", "openrsp.smdp.es2.service")
CORE = (
    "openrsp.smdp.es9.service",
    "openrsp.smdp.es9.decisions",
    "openrsp.smdp.es9.decisions.authenticate",
    "openrsp.smdp.es9.decisions.bind",
    "openrsp.smdp.es9.decisions.notification",
    "openrsp.smdp.es9.decisions.cancel",
    "openrsp.smdp.es9.effects",
    "openrsp.smdp.es9.views",
    "openrsp.smdp.es9.orders",
    "openrsp.smdp.es9.binding",
    "openrsp.smdp.es9.metadata",
    "openrsp.smdp.es9.credentials",
    "openrsp.smdp.es2.core",
)


@pytest.mark.parametrize("module", CORE)
def test_the_cores_import_no_storage_and_no_http(module):
    probe = (
        f"import sys, {module}\n"
        f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}"
        f" or m.startswith({STORAGE!r}) or m in {STORAGE_MODULES!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []


def test_the_probe_sees_the_storage_when_it_is_loaded():
    probe = "import sys, openrsp.smdp.es9.store\nprint('sqlalchemy' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "True"
