"""SoftHSM2 tokens for the PKCS#11 tests: a token store in a temporary folder, a fresh token per test.

A PKCS#11 module reads its configuration and finds its tokens once per process, so SOFTHSM2_CONF is
set once (per test process) and a pool of tokens is initialised in that store before any test loads
the module; each test takes unused ones. Child processes (`openrsp smdp serve`, `openrsp smdp keys …`)
inherit the variable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4711"
POOL_SIZE = 12  # tokens per test process: more than the PKCS#11 tests of one process take


@pytest.fixture(scope="session")
def softhsm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("softhsm2-util"), "softhsm2 is not installed (scripts/bootstrap.sh installs it)"
    assert Path(SOFTHSM_MODULE).is_file(), f"{SOFTHSM_MODULE} missing (Debian package softhsm2)"
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return folder


@pytest.fixture(scope="session")
def softhsm_pool(softhsm_store: Path) -> Iterator[str]:
    """URIs of tokens initialised up front (see the module docstring)."""
    uris = [init_token(softhsm_store, f"t{os.getpid()}-{n}") for n in range(POOL_SIZE)]
    return iter(uris)


def init_token(store: Path, label: str) -> str:
    """Initialise a token; its PKCS#11 URI (object set "smdp", PIN from a 0600 file)."""
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "1234567"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(store / "softhsm2.conf")},
    )
    pin_file = store / f"{label}.pin"
    fd = os.open(pin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(PIN + "\n")
    return f"pkcs11:token={label};object=smdp?module-path={SOFTHSM_MODULE}&pin-source={pin_file}"


def next_token(pool: Iterator[str]) -> str:
    uri = next(pool, None)
    assert uri is not None, "the SoftHSM2 token pool is used up: raise POOL_SIZE"
    return uri


@pytest.fixture
def hsm_uri(softhsm_pool: Iterator[str]) -> str:
    """A fresh SoftHSM2 token for this test."""
    return next_token(softhsm_pool)
