"""Encryption at rest: AES-GCM blobs bound to their row, and the key-encryption key file."""

import os
import stat
import threading

import pytest

from openrsp.rspserver.sealing import Sealer, SealError, load_or_create_kek, parse_kek
from openrsp.smdp.errors import ConfigError

KEK = bytes(range(32))


def test_a_sealed_blob_opens_only_for_its_own_row_and_key():
    sealer = Sealer(KEK)
    blob = sealer.seal(b"package bytes", "package/8949449999999990023")
    assert b"package bytes" not in blob
    assert sealer.open(blob, "package/8949449999999990023") == b"package bytes"
    with pytest.raises(SealError):
        sealer.open(blob, "package/8949449999999990031")  # copied onto another profile
    with pytest.raises(SealError):
        Sealer(bytes(32)).open(blob, "package/8949449999999990023")  # another key
    with pytest.raises(SealError):
        sealer.open(blob[:-1] + bytes([blob[-1] ^ 1]), "package/8949449999999990023")


def test_each_seal_uses_a_fresh_nonce():
    sealer = Sealer(KEK)
    assert sealer.seal(b"x", "c") != sealer.seal(b"x", "c")


def test_the_kek_file_is_created_once_private_and_reused(tmp_path):
    path = tmp_path / "data" / "kek.key"
    first = load_or_create_kek(path)
    assert len(first) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_kek(path) == first
    assert parse_kek(path.read_text()) == first


def test_workers_starting_together_agree_on_one_kek(tmp_path):
    path = tmp_path / "kek.key"
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(load_or_create_kek(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["kek.key"]  # no temporary files left behind


@pytest.mark.parametrize("text", ["00" * 31, "zz" * 32, ""])
def test_a_malformed_kek_is_a_configuration_error(text):
    with pytest.raises(ConfigError):
        parse_kek(text)
