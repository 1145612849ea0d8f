"""The compiled-module cache: a pickle is loaded only from a 0700 folder of ours and only when the file
is ours and no one else may write it; the OBJECT IDENTIFIER fix stays inside openrsp's codecs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import asn1tools
import asn1tools.codecs.ber

from openrsp.asn1 import codec


class Planted:
    """Unpickling this writes a marker file: proof that the pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pickle was loaded"))


def plant(folder: Path, name: str, marker: Path, *, folder_mode: int = 0o700, file_mode: int = 0o600) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(pickle.dumps(Planted(marker)))
    (folder / name).chmod(file_mode)
    folder.chmod(folder_mode)


def test_a_trusted_cache_file_is_loaded(tmp_path):
    marker = tmp_path / "marker"
    plant(tmp_path / "cache", "x.pickle", marker)
    codec.load_cached(tmp_path / "cache", "x.pickle")
    assert marker.read_text() == "pickle was loaded"  # the control: planting works


def test_a_cache_file_others_may_write_is_not_loaded(tmp_path):
    marker = tmp_path / "marker"
    plant(tmp_path / "cache", "x.pickle", marker, file_mode=0o666)
    assert codec.load_cached(tmp_path / "cache", "x.pickle") is None
    assert not marker.exists()


def test_a_cache_file_of_another_user_is_not_loaded(tmp_path):
    marker = tmp_path / "marker"
    plant(tmp_path / "cache", "x.pickle", marker)
    # The file (and folder) belong to os.getuid(); a process running as another user must refuse them.
    assert codec.load_cached(tmp_path / "cache", "x.pickle", uid=os.getuid() + 1) is None
    assert not marker.exists()


def test_a_symlinked_cache_file_or_folder_is_not_loaded(tmp_path):
    marker = tmp_path / "marker"
    plant(tmp_path / "elsewhere", "x.pickle", marker)
    (tmp_path / "cache").mkdir(mode=0o700)
    (tmp_path / "cache" / "x.pickle").symlink_to(tmp_path / "elsewhere" / "x.pickle")
    (tmp_path / "linked-cache").symlink_to(tmp_path / "elsewhere")
    assert codec.load_cached(tmp_path / "cache", "x.pickle") is None
    assert codec.load_cached(tmp_path / "linked-cache", "x.pickle") is None
    assert not marker.exists()


def test_the_real_cache_planted_in_an_open_folder_is_not_run(tmp_path):
    """A process whose cache folder was world-writable before it started: the planted file (owned by
    another user, here made group/other-writable) is ignored and the module compiled afresh."""
    cache = tmp_path / "xdg-cache" / "openrsp"
    marker = tmp_path / "marker"
    rsp_files = sorted((Path(codec.__file__).parent / "rsp").glob("*.asn"))
    plant(cache, codec.cache_name(rsp_files), marker, folder_mode=0o777, file_mode=0o666)
    script = (
        "from openrsp.asn1 import codec\n"
        "print(codec.rsp().decode('ServerSigned1', codec.rsp().encode('ServerSigned1', {"
        "'transactionId': bytes(16), 'euiccChallenge': bytes(16), 'serverAddress': 'a.b',"
        " 'serverChallenge': bytes(16)}))['serverAddress'])\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "a.b"
    assert not marker.exists()
    assert oct(cache.stat().st_mode & 0o777) == oct(0o700)  # our folder, closed again


def test_the_oid_fix_is_local_to_openrsp_codecs():
    assert asn1tools.codecs.ber.decode_object_identifier.__module__ == "asn1tools.codecs.ber"  # not patched
    der = bytes.fromhex("060388370A")  # 2.999.10, the SGP.26 SM-DP+ OID
    other = asn1tools.compile_string("M DEFINITIONS ::= BEGIN T ::= OBJECT IDENTIFIER END", "der")
    assert other.decode("T", der) == "26.39.10"  # another asn1tools user keeps the library's behaviour
    signed = {"transactionId": bytes(16), "smdpOid": "2.999.10", "reason": 1}
    encoded = codec.rsp().encode("EuiccCancelSessionSigned", signed)
    assert codec.rsp().decode("EuiccCancelSessionSigned", encoded) == signed  # ours reads it right
