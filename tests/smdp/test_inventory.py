"""Filling the inventory from the command line: TS.48 imports, generation, CSV, listing."""

import csv
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openrsp.profile import luhn_valid
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.profiles import list_profiles, open_package, open_secrets
from openrsp.smdp.errors import InventoryError
from openrsp.smdp.inventory import import_packages

OP = "CDC202D5123E20F62B6D676AC72CB318"


def unique_packages(ts48_dir: Path) -> list[Path]:
    return sorted(ts48_dir.glob("*-UNIQUE.der"))


def test_the_18_unique_ts48_packages_import_together(cli, ts48_dir, tmp_path):
    files = unique_packages(ts48_dir)
    assert len(files) == 18
    result = cli("smdp", "profile", "import", *map(str, files), "--data", str(tmp_path), "--json", check=True)
    iccids = [row["iccid"] for row in json.loads(result.stdout)]
    assert len(set(iccids)) == 18 and "8949449999999990023" in iccids
    listed = json.loads(cli("smdp", "profile", "list", "--data", str(tmp_path), "--json", check=True).stdout)
    assert {row["iccid"] for row in listed} == set(iccids)
    row = next(r for r in listed if r["iccid"] == "8949449999999990023")
    assert row["state"] == "Available" and row["profileType"] == "GSMA Generic eUICC Test Profile"
    assert row["imsi"] == "001010123456063" and row["spn"] == "GSMA_TEST"


def test_every_ts48_package_imports(ts48_dir, tmp_path):
    """The other 18 share ICCIDs among themselves, so each goes into its own inventory."""
    files = sorted(set(ts48_dir.glob("*.der")) - set(unique_packages(ts48_dir)))
    assert len(files) == 18
    for number, path in enumerate(files):
        database = open_database(load_config(data_dir=tmp_path / str(number)))
        try:
            assert import_packages(database, [path], operator="op") in (
                ["89000123456789012341"],
                ["89000123456789012358"],
            )
            assert open_package(database, _only_profile(database).iccid) == path.read_bytes()
        finally:
            database.engine.dispose()


def _only_profile(database):
    with database.transaction() as connection:
        (profile,) = list_profiles(connection)
        return profile


def test_an_iccid_already_known_refuses_the_whole_import(cli, ts48_dir, tmp_path):
    database = open_database(load_config(data_dir=tmp_path))
    import_packages(database, [ts48_dir / "TS48v1_A.der"], operator="default")
    new, known = ts48_dir / "TS48V1-A-UNIQUE.der", ts48_dir / "TS48v1_B.der"  # B has A's ICCID
    result = cli("smdp", "profile", "import", str(new), str(known), "--data", str(tmp_path))
    assert result.returncode == 1
    assert "89000123456789012341" in result.stderr and "nothing imported" in result.stderr
    assert "Traceback" not in result.stderr
    with database.transaction() as connection:  # the new one did not slip in
        assert [p.iccid for p in list_profiles(connection)] == ["89000123456789012341"]
    database.engine.dispose()


def test_a_file_that_is_not_a_package_is_a_clear_error(cli, tmp_path):
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x03\x02\x01\x05")
    result = cli("smdp", "profile", "import", str(junk), "--data", str(tmp_path / "d"))
    assert result.returncode == 1 and result.stderr.startswith("error: junk:")


def test_generate_one_profile_computes_luhn_and_returns_the_keys_once(cli, tmp_path):
    ki = "000102030405060708090A0B0C0D0E0F"
    result = cli(
        "smdp", "profile", "generate", "--iccid", "894400000000000012", "--imsi", "001010000000012",
        "--ki", ki, "--msisdn", "+15551234", "--spn", "openrsp", "--name", "Test line",
        "--data", str(tmp_path), "--json", check=True,
    )  # fmt: skip
    (row,) = json.loads(result.stdout)
    assert row["iccid"].startswith("894400000000000012") and len(row["iccid"]) == 19
    assert luhn_valid(row["iccid"])  # 18 digits given: the Luhn check digit was appended
    assert row["ki"] == ki  # given: used as given
    assert len(bytes.fromhex(row["opc"])) == 16  # absent: drawn at random, shown this once
    database = open_database(load_config(data_dir=tmp_path))
    try:
        profile = _only_profile(database)
        assert (profile.iccid, profile.profile_name, profile.msisdn) == (
            row["iccid"],
            "Test line",
            "+15551234",
        )
        secrets = open_secrets(database.sealer, profile)
        assert (secrets.ki.hex().upper(), secrets.opc.hex().upper()) == (ki, row["opc"])
    finally:
        database.engine.dispose()


def test_bulk_generation_from_csv_writes_the_secrets_privately(cli, tmp_path):
    source = tmp_path / "subs.csv"
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["iccid", "imsi", "msisdn", "spn", "name", "class", "op"])
        for n in range(200):
            op = OP if n == 0 else ""  # an OP column: OPc = AES_Ki(OP) xor OP (Milenage)
            iccid, imsi, msisdn = f"894400000001{n:06d}", f"00101{n:010d}", f"+1555{n:07d}"
            writer.writerow([iccid, imsi, msisdn, "openrsp", f"line {n}", "operational", op])
    secrets = tmp_path / "secrets.csv"
    result = cli(
        "smdp",
        "profile",
        "generate",
        "--csv",
        str(source),
        "--data",
        str(tmp_path / "d"),
        "--out-secrets",
        str(secrets),
        "--json",
        check=True,
    )
    iccids = [row["iccid"] for row in json.loads(result.stdout)]
    assert len(iccids) == 200 and all(len(i) == 19 for i in iccids)
    assert "opc" not in result.stdout.lower()  # written to the file instead
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    rows = list(csv.DictReader(secrets.open()))
    assert [r["iccid"] for r in rows] == iccids and all(len(r["ki"]) == 32 for r in rows)
    ki, op = bytes.fromhex(rows[0]["ki"]), bytes.fromhex(OP)
    encrypted = Cipher(algorithms.AES(ki), modes.ECB()).encryptor().update(op)
    assert rows[0]["opc"] == bytes(a ^ b for a, b in zip(encrypted, op, strict=True)).hex().upper()
    listed = json.loads(
        cli("smdp", "profile", "list", "--data", str(tmp_path / "d"), "--json", check=True).stdout
    )
    assert len(listed) == 200


def test_generate_refuses_bad_subscriber_data(cli, tmp_path):
    result = cli(
        "smdp", "profile", "generate", "--iccid", "12", "--imsi", "001010000000012", "--data", str(tmp_path)
    )
    assert result.returncode == 1 and "ICCID" in result.stderr and "Traceback" not in result.stderr


def test_import_keeps_all_or_nothing_through_the_python_api(tmp_path, ts48_dir):
    database = open_database(load_config(data_dir=tmp_path))
    try:
        with pytest.raises(InventoryError):
            import_packages(
                database, [ts48_dir / "TS48V1-A-UNIQUE.der", tmp_path / "missing.der"], operator="op"
            )
        with database.transaction() as connection:
            assert list_profiles(connection) == []
    finally:
        database.engine.dispose()
