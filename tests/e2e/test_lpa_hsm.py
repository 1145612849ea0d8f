"""The SM-DP+ with its keys in a PKCS#11 token (SoftHSM2): import, serve without key files, download
with `openrsp lpa` into an in-process eUICC that checks the SM-DP+'s signatures against its CI, then
rotate the sealing key in place and download again."""

from __future__ import annotations

import json
import subprocess

import pytest
from lpa_support import OPENRSP, Smdp, lpa_ok, unique_iccid
from sqlalchemy import select

from openrsp.euicc.store import create_euicc, read_state
from openrsp.pki.layout import PkiIndex
from openrsp.pki.testpki import init_pki
from openrsp.rspserver.sealing import SealError
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.models import Profile
from openrsp.smdp.inventory import generate_profiles, subscriptions_from_rows


def openrsp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OPENRSP), *args], capture_output=True, text=True, timeout=120)


def generate(data, keys_uri: str) -> str:
    """A new profile in the inventory, sealed by the token's key (as `profile generate --keys` does)."""
    iccid = unique_iccid()
    database = open_database(load_config(data_dir=data, keys_uri=keys_uri))
    try:
        rows = [{"iccid": iccid, "imsi": f"00101{int(iccid[-10:]):010d}", "spn": "HSM Mobile"}]
        [sub] = generate_profiles(database, subscriptions_from_rows(rows), operator="default")
    finally:
        database.engine.dispose()
    return sub.iccid


def sealed_secrets(data, keys_uri: str, iccid: str) -> bytes:
    database = open_database(load_config(data_dir=data, keys_uri=keys_uri))
    try:
        with database.transaction() as connection:
            return connection.execute(select(Profile.secrets).where(Profile.iccid == iccid)).scalar_one()
    finally:
        database.engine.dispose()


def download(smdp: Smdp, euicc, iccid: str) -> dict:
    code = smdp.order(iccid)
    return lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=["--euicc", str(euicc)]).data


@pytest.fixture
def pki(tmp_path):
    directory = tmp_path / "pki"
    init_pki(directory)  # both curves: DPauth/DPpb on P-256 and brainpoolP256r1
    return directory


def test_download_with_keys_in_a_token_then_rotate_the_sealing_key(tmp_path, pki, hsm_uri):
    imported = openrsp("smdp", "keys", "import", "--credentials", str(pki), "--to", hsm_uri, "--json")
    assert imported.returncode == 0, imported.stderr
    labels = {row["label"] for row in json.loads(imported.stdout)}
    assert labels == {f"smdp/{role}-{curve}" for role in ("dpauth", "dppb") for curve in ("nist", "brp")} | {
        "smdp/seal"
    }

    # The private key files go: from now on only the token can sign for this SM-DP+.
    index = PkiIndex.read(pki)
    for curve in index.curves:
        for role in ("dpauth", "dppb"):
            index.key_path(curve, role).unlink()
    without_token = openrsp("smdp", "serve", "--credentials", str(pki), "--data", str(tmp_path / "x"))
    assert without_token.returncode != 0 and "dpauth.key.pem" in without_token.stderr

    listed = openrsp("smdp", "keys", "list", "--keys", hsm_uri, "--json")
    assert listed.returncode == 0, listed.stderr
    kinds = {(row["label"], row["kind"]) for row in json.loads(listed.stdout)}
    assert ("smdp/dpauth-brp", "private key") in kinds and ("smdp/seal", "secret key") in kinds
    assert "PRIVATE" not in listed.stdout

    data = tmp_path / "smdp-data"
    euicc = tmp_path / "euicc"
    create_euicc(euicc, pki=pki)
    before, after = generate(data, hsm_uri), generate(data, hsm_uri)
    smdp = Smdp(pki, data, extra=("--keys", hsm_uri)).start()
    try:
        downloaded = download(smdp, euicc, before)
        assert downloaded["iccid"] == before
        assert downloaded["profile"]["serviceProviderName"] == "HSM Mobile"
        assert smdp.state(before) == "Installed"
    finally:
        smdp.stop()
    assert not (data / "kek.key").exists()  # sealing is the token's: no key file was made

    old_blob = sealed_secrets(data, hsm_uri, after)
    rotated = openrsp("smdp", "keys", "rotate-seal", "--data", str(data), "--keys", hsm_uri, "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["profiles"] == 2
    seal_keys = [
        row for row in json.loads(openrsp("smdp", "keys", "list", "--keys", hsm_uri, "--json").stdout)
    ]
    assert [row["label"] for row in seal_keys if row["kind"] == "secret key"] == ["smdp/seal"]  # old one gone

    database = open_database(load_config(data_dir=data, keys_uri=hsm_uri))
    try:
        new_blob = sealed_secrets(data, hsm_uri, after)
        assert new_blob != old_blob
        with pytest.raises(SealError):  # what was sealed under the old key no longer opens
            database.sealer.open(old_blob, f"secrets/{after}")
    finally:
        database.engine.dispose()

    smdp = Smdp(pki, data, extra=("--keys", hsm_uri)).start()
    try:
        assert download(smdp, euicc, after)["iccid"] == after  # re-sealed package and Ki/OPc open
        assert smdp.state(after) == "Installed"
    finally:
        smdp.stop()
    assert sorted(p.iccid for p in read_state(euicc).profiles) == sorted([before, after])


def test_serve_refuses_a_token_key_that_is_not_the_certificates(tmp_path, hsm_uri):
    first, second = tmp_path / "pki-a", tmp_path / "pki-b"
    init_pki(first, curves=["nist"])
    init_pki(second, curves=["nist"])
    assert openrsp("smdp", "keys", "import", "--credentials", str(second), "--to", hsm_uri).returncode == 0
    run = openrsp(
        "smdp", "serve", "--credentials", str(first), "--data", str(tmp_path / "d"), "--keys", hsm_uri,
        "--port", "1",
    )  # fmt: skip
    assert run.returncode != 0
    assert "is not the key of the dpauth certificate" in run.stderr
    assert "Traceback" not in run.stderr
