"""Every file openrsp makes that holds a secret is 0600 in a 0700 folder, also when a file was there
before with a looser mode; a loose secret file it would read is refused naming `chmod 600`; a symlink
planted where a secret goes is never followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from openrsp.errors import InputError
from openrsp.euicc.store import create_euicc, read_state, write_state
from openrsp.pki.credentials import SmdpCredentials
from openrsp.pki.layout import PkiIndex
from openrsp.pki.testpki import init_pki

ICCID = "8999001000000000017"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def walk(root: Path, secret) -> list[str]:
    """Paths under root that break the rule: folders not 0700, secret files not 0600."""
    wrong = [] if mode(root) == 0o700 else [f"{root} {mode(root):o}"]
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(folder) / name
            if mode(path) != 0o700:
                wrong.append(f"{path} {mode(path):o}")
        for name in files:
            path = Path(folder) / name
            if secret(path) and mode(path) != 0o600:
                wrong.append(f"{path} {mode(path):o}")
    return wrong


def everything(_path: Path) -> bool:
    return True


def private_keys(path: Path) -> bool:
    return path.name.endswith(".key.pem") or b"PRIVATE KEY" in path.read_bytes()


def generate(cli, data: Path, *extra: str, iccid: str = ICCID):
    return cli("smdp", "profile", "generate", "--data", str(data), "--iccid", iccid, "--imsi", "001010000000017",
               *extra)  # fmt: skip


def test_data_credentials_and_euicc_folders_hold_secrets_0600_in_0700_folders(tmp_path, cli):
    os.umask(0o022)  # the usual umask: modes must not depend on a stricter one
    pki = tmp_path / "pki"
    assert cli("pki", "init", str(pki)).returncode == 0
    euicc = tmp_path / "euicc"
    assert cli("euicc", "create", str(euicc), "--pki", str(pki)).returncode == 0
    data = tmp_path / "smdp-data"
    secrets = tmp_path / "out" / "secrets.csv"
    secrets.parent.mkdir()
    run = generate(cli, data, "--out-secrets", str(secrets))
    assert run.returncode == 0, run.stderr
    assert cli("smdp", "profile", "list", "--data", str(data)).returncode == 0

    assert {"kek.key", "smdp.sqlite"} <= {p.name for p in data.iterdir()}
    assert walk(data, everything) == []
    assert walk(euicc, everything) == []  # state.json holds Ki/OPc; the eUICC keys
    assert walk(pki, private_keys) == []
    assert sum(1 for p in pki.rglob("*.key.pem")) >= 10
    assert mode(secrets) == 0o600


def test_files_that_were_there_with_0644_end_up_0600(tmp_path, cli):
    os.umask(0o022)
    # --out-secrets onto an existing world-readable file: replaced by a 0600 one
    secrets = tmp_path / "secrets.csv"
    secrets.write_text("old\n")
    secrets.chmod(0o644)
    assert generate(cli, tmp_path / "data", "--out-secrets", str(secrets)).returncode == 0
    assert mode(secrets) == 0o600
    assert secrets.read_text().startswith("iccid,imsi,ki,opc")

    # pki init --force over a PKI whose key files had been opened up
    pki = tmp_path / "pki"
    init_pki(pki, curves=["nist"])
    for key in pki.rglob("*.key.pem"):
        key.chmod(0o644)
    (pki / "nist").chmod(0o755)
    assert cli("pki", "init", str(pki), "--curve", "nist", "--force").returncode == 0
    assert walk(pki, private_keys) == []

    # the eUICC's state rewritten: 0600 again
    euicc = tmp_path / "euicc"
    create_euicc(euicc, pki=pki)
    (euicc / "state.json").chmod(0o644)
    write_state(euicc, read_state(euicc))
    assert walk(euicc, everything) == []


@pytest.mark.parametrize("name", ["kek.key", "smdp.sqlite"])
def test_a_loose_data_file_is_refused_naming_chmod_600(tmp_path, cli, name):
    data = tmp_path / "data"
    assert generate(cli, data).returncode == 0
    (data / name).chmod(0o644)
    run = cli("smdp", "profile", "list", "--data", str(data))
    assert run.returncode != 0
    assert f"chmod 600 {data / name}" in run.stderr
    assert "Traceback" not in run.stderr
    assert mode(data / name) == 0o644  # left for the operator to decide
    (data / name).chmod(0o600)
    listed = cli("smdp", "profile", "list", "--data", str(data))
    assert listed.returncode == 0 and ICCID in listed.stdout


def test_a_loose_pki_key_is_refused_naming_chmod_600(tmp_path):
    pki = tmp_path / "pki"
    init_pki(pki, curves=["nist"])
    key = PkiIndex.read(pki).key_path("nist", "dpauth")
    key.chmod(0o640)
    with pytest.raises(InputError, match=f"chmod 600 {key}"):
        SmdpCredentials.load(pki)


def test_a_symlink_where_a_secret_goes_is_not_followed(tmp_path, cli):
    victim = tmp_path / "victim"
    victim.write_text("the victim's own data\n")
    victim.chmod(0o600)

    # --out-secrets: the link is replaced by a new file, the victim untouched
    link = tmp_path / "secrets.csv"
    link.symlink_to(victim)
    assert generate(cli, tmp_path / "data", "--out-secrets", str(link)).returncode == 0
    assert not link.is_symlink() and mode(link) == 0o600
    assert victim.read_text() == "the victim's own data\n" and mode(victim) == 0o600

    # a symlink as the KEK: refused, not read through
    data = tmp_path / "data2"
    data.mkdir()
    (data / "kek.key").symlink_to(victim)
    run = cli("smdp", "profile", "list", "--data", str(data))
    assert run.returncode != 0 and "symbolic link" in run.stderr
    assert victim.read_text() == "the victim's own data\n" and mode(victim) == 0o600


def test_the_sgp26_tls_chain_goes_to_a_private_folder_not_the_old_predictable_one(tmp_path, sgp26_dir):
    import tempfile

    from openrsp.pki.certio import certificate_der, load_certificate, short_digest

    victim = tmp_path / "victim"
    victim.write_text("the victim's own data\n")
    victim.chmod(0o600)
    planted = []
    for tag in ("NIST", "BRP"):
        leaf = load_certificate(sgp26_dir / "DPtls" / f"CERT_S_SM_DP_VARO_TLS_{tag}.der")
        folder = (
            Path(tempfile.gettempdir()) / f"openrsp-{os.getuid()}-tls-{short_digest(certificate_der(leaf))}"
        )
        folder.mkdir(exist_ok=True)
        (folder / "chain.pem").unlink(missing_ok=True)
        (folder / "chain.pem").symlink_to(victim)
        planted.append(folder)
    try:
        credentials = SmdpCredentials.load(sgp26_dir)
        for tls in credentials.tls_by_curve.values():
            assert tls.chain_file.parent not in planted
            assert mode(tls.chain_file.parent) == 0o700
            assert not tls.chain_file.is_symlink()
            assert tls.chain_file.read_bytes().count(b"BEGIN CERTIFICATE") == 2
        assert victim.read_text() == "the victim's own data\n" and mode(victim) == 0o600
    finally:
        for folder in planted:
            (folder / "chain.pem").unlink()
            folder.rmdir()
