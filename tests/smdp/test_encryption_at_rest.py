"""Profile packages and Ki/OPc never reach the database file in clear."""

from pathlib import Path

import pytest

from openrsp.profile import Subscription
from openrsp.rspserver.sealing import SealError
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.profiles import get_profile, list_profiles, open_package, open_secrets
from openrsp.smdp.errors import ConfigError
from openrsp.smdp.inventory import generate_profiles, import_packages

KNOWN_KI = bytes.fromhex("5A17C0DEFEEDFACE0123456789ABCDEF")
KNOWN_OPC = bytes.fromhex("0FEDCBA9876543210C0FFEE15BADF00D")
TS48_KI = bytes(range(16))  # every TS.48 test profile carries Ki 000102…0F


def forms(secret: bytes) -> list[bytes]:
    """The ways a secret could show up in a file: raw, and as hex either case."""
    return [secret, secret.hex().encode(), secret.hex().upper().encode()]


def database_bytes(data_dir: Path) -> bytes:
    # WAL mode: recent pages may still sit in the -wal file next to the database
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("smdp.sqlite*")))


def test_no_ki_opc_or_package_in_the_sqlite_file(tmp_path, ts48_dir):
    config = load_config(data_dir=tmp_path)
    database = open_database(config)
    ts48 = ts48_dir / "TS48V5-SAIP2-3-NOBERTLV-UNIQUE.der"
    try:
        import_packages(database, [ts48], operator="op")
        sub = Subscription("8944000000000000128", "001010000000012", KNOWN_KI, KNOWN_OPC, spn="secretive")
        generate_profiles(database, [sub], operator="op")
        with database.transaction() as connection:
            generated = get_profile(connection, "8944000000000000128")
        package = open_package(database, generated.iccid)
        assert open_secrets(database.sealer, generated).ki == KNOWN_KI  # they are there, sealed
    finally:
        database.engine.dispose()

    raw = database_bytes(tmp_path)
    assert b"8944000000000000128" in raw  # the file is the right one: ICCIDs are stored in clear
    for secret in (KNOWN_KI, KNOWN_OPC, TS48_KI):
        for form in forms(secret):
            assert form not in raw
    ts48_der = ts48.read_bytes()
    for chunk in (ts48_der[100:132], ts48_der[-64:-32], package[40:72], package[-48:-16]):
        assert chunk not in raw


def test_the_kek_comes_from_the_configuration_and_is_needed_to_open(tmp_path, ts48_dir):
    kek_hex = "11" * 32
    database = open_database(load_config(data_dir=tmp_path, kek_hex=kek_hex))
    try:
        import_packages(database, [ts48_dir / "TS48V1-A-UNIQUE.der"], operator="op")
    finally:
        database.engine.dispose()
    assert not (tmp_path / "kek.key").exists()  # a configured key: no key file is made
    # Without the key, no new kek.key is made for data sealed under another one: a clear refusal.
    with pytest.raises(ConfigError, match="sealed under a key that is not here"):
        open_database(load_config(data_dir=tmp_path))
    assert not (tmp_path / "kek.key").exists()
    other = open_database(load_config(data_dir=tmp_path, kek_hex="22" * 32))  # the wrong key
    try:
        with other.transaction() as connection:
            (profile,) = list_profiles(connection)
        with pytest.raises(SealError):
            open_package(other, profile.iccid)
    finally:
        other.engine.dispose()
