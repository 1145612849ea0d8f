"""`pip install openrsp` without extras: the SM-DP+, the LPA with an in-process card and the eUICC work.

The optional packages (pyscard, psycopg, zxing-cpp, segno, Pillow, matplotlib) are blocked in every
process these tests start, by a meta-path finder loaded from sitecustomize (PYTHONPATH), as if they
had never been installed. A feature that needs one stops with one `error:` line naming the extra.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lpa_support import OPENRSP, SMDP_HOST, Smdp

OPTIONAL = ("smartcard", "psycopg", "psycopg_binary", "zxingcpp", "segno", "PIL", "matplotlib")
# The parts `pip install openrsp` alone must give, module by module.
CORE_PACKAGES = ("smdp", "lpa", "euicc", "es8", "rspserver", "wire", "crypto", "asn1", "pki", "profile")
NOT_IMPORTABLE = {"openrsp.smdp.db.migrations.env"}  # Alembic's env script: only Alembic runs it

BLOCKER = f"""
import importlib.abc, sys

class _BlockOptional(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _BlockOptional())
"""


@pytest.fixture(name="bare_env")
def bare_env_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a machine without the extras; also set here, for servers started in-test."""
    site = tmp_path / "no-extras"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    monkeypatch.setenv("PYTHONPATH", str(site))
    return dict(os.environ)


def run(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPENRSP), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_the_blocker_hides_the_optional_packages(bare_env):
    for name in OPTIONAL:
        probe = subprocess.run(
            [sys.executable, "-c", f"import {name}"], env=bare_env, capture_output=True, text=True
        )
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, name


def test_every_module_of_the_core_parts_imports_without_extras(bare_env):
    script = f"""
import importlib, pkgutil, sys, openrsp
failed = []
for package in {CORE_PACKAGES!r}:
    root = importlib.import_module("openrsp." + package)
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        if info.name in {NOT_IMPORTABLE!r}:
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{{info.name}}: {{exc!r}}")
importlib.import_module("openrsp.cli.main")
loaded = sorted(n for n in sys.modules if n.split(".")[0] in {OPTIONAL!r})
print("\\n".join(failed + [f"optional package loaded: {{n}}" for n in loaded]))
"""
    probe = subprocess.run(
        [sys.executable, "-c", script], env=bare_env, capture_output=True, text=True, timeout=300
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == ""


def test_pki_euicc_smdp_and_an_in_process_download_without_extras(bare_env, tmp_path):
    pki, euicc = tmp_path / "pki", tmp_path / "euicc"
    assert run(bare_env, "pki", "init", str(pki)).returncode == 0
    assert run(bare_env, "euicc", "create", str(euicc), "--pki", str(pki)).returncode == 0
    smdp = Smdp(pki, tmp_path / "smdp").start()  # `openrsp smdp serve`, started with bare_env too
    try:
        iccid = smdp.generate()
        code = smdp.order(iccid)
        card = ["--euicc", str(euicc), "--resolve", f"{SMDP_HOST}:127.0.0.1"]
        downloaded = run(bare_env, "lpa", *card, "--json", "profile", "download", "-a", code, "--yes")
        assert downloaded.returncode == 0, downloaded.stderr
        assert json.loads(downloaded.stdout.strip().splitlines()[-1])["payload"]["data"]["iccid"] == iccid
        listed = run(bare_env, "lpa", *card, "--json", "profile", "list")
        assert iccid in listed.stdout
        assert smdp.state(iccid) == "Installed"
    finally:
        smdp.stop()


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["lpa", "--pcsc", "Virtual PCD", "chip", "info"], "pcsc"),
        (["lpa", "--euicc", "{euicc}", "profile", "download", "--qr", "{image}"], "qr"),
        (["smdp", "admin", "--db", "postgresql://127.0.0.1:1/none", "order", "--iccid", "8949"], "postgres"),
    ],
)
def test_a_feature_without_its_extra_says_which_extra_in_one_line(bare_env, tmp_path, args, extra):
    euicc, image = tmp_path / "euicc", tmp_path / "code.png"
    image.write_bytes(b"not read")
    run(bare_env, "pki", "init", str(tmp_path / "pki"), "--curve", "nist")
    run(bare_env, "euicc", "create", str(euicc), "--pki", str(tmp_path / "pki"))
    result = run(bare_env, *(a.format(euicc=euicc, image=image) for a in args))
    assert result.returncode != 0
    assert f"pip install 'openrsp[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
