"""Nothing secret in the repository or its working tree: what is tracked, and what a fresh
`openrsp smdp serve` started in the checkout writes (nothing there; its data in the XDG folder, private)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

from lpa_support import OPENRSP, SMDP_HOST, Smdp, free_port

from openrsp.pki.testpki import init_pki

REPO_ROOT = Path(__file__).resolve().parents[2]
_SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache"}
_PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{40,}-----END")


def checkout_files() -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
        found.update(os.path.relpath(os.path.join(folder, f), REPO_ROOT) for f in files)
    return found


def test_git_tracks_no_key_database_or_generated_data():
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    tracked = [name.decode() for name in tracked if name]
    assert "README.md" in tracked  # the listing works
    bad_names = [
        name
        for name in tracked
        if name.startswith("smdp-data/")
        or re.search(r"(\.key|\.key\.pem|\.sqlite(-wal|-shm)?|\.db|\.p12|\.pfx|kek[^/]*)$", name)
    ]
    assert bad_names == []
    for name in tracked:
        path = REPO_ROOT / name
        if not path.is_file():
            continue  # deleted in this working tree
        head = path.read_bytes()[:1_000_000]
        assert not head.startswith(b"SQLite format 3\0"), f"{name} is a database"
        assert not _PEM_PRIVATE_KEY.search(head), f"{name} holds a private key"


def test_fresh_serve_in_the_checkout_writes_nothing_there(tmp_path):
    pki = tmp_path / "pki"
    init_pki(pki, curves=["nist"])
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    before = checkout_files()

    port = free_port()
    server = Smdp(pki, tmp_path / "logs" / "unused", port=port)
    server.log.parent.mkdir(parents=True)
    with server.log.open("wb") as log:
        server.process = subprocess.Popen(
            [str(OPENRSP), "smdp", "serve", "--credentials", str(pki), "--port", str(port),
             "--address", f"{SMDP_HOST}:{port}"],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        server.wait_ready()
    finally:
        server.stop()

    assert checkout_files() - before == set()
    data = home / ".local" / "share" / "openrsp" / "smdp"  # the XDG default for a user
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    names = sorted(p.name for p in data.iterdir())
    assert "kek.key" in names and "smdp.sqlite" in names
    for path in data.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
