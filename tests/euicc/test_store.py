"""The eUICC folder: `openrsp euicc create` / `info`, atomic state, and what survives a restart."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rsp_harness import final_result, store_metadata

from openrsp.euicc.store import LOCK_FILE, STATE_FILE, open_card, read_state
from openrsp.pki.credentials import EuiccCredentials
from openrsp.pki.eid import DEFAULT_EIN, make_eid
from openrsp.pki.verify import verify_chain
from openrsp.profile.package import ProfilePackage

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SGP26 = SHARED / "sgp26"
PP = SHARED / "profiles" / "ts48" / "TS48v1_A.der"
OTHER_EID = make_eid(DEFAULT_EIN, 4242)  # in the pki-init EUM range, not its eUICC EID


def test_create_from_sgp26_with_provisioning_profile_and_info_json(tmp_path, cli):
    target = tmp_path / "e"
    cli(
        "euicc",
        "create",
        str(target),
        "--sgp26",
        str(SGP26),
        "--default-smdp",
        "testsmdpplus1.example.com",
        "--root-smds",
        "ds.example",
        "--with-pp",
        str(PP),
        check=True,
    )
    info = json.loads(cli("euicc", "info", str(target), "--json", check=True).stdout)
    assert info["eidValue"] == "89049032123451234512345678901235"
    assert (info["defaultDpAddress"], info["rootDsAddress"]) == ("testsmdpplus1.example.com", "ds.example")
    assert info["euiccCiPKIdListForVerification"] == [
        "F54172BDF98A95D65CBEB88A38A1C11D800A85C3",
        "C0BC70BA36929D43B467FF57570530E57AB8FCD8",
    ]
    [profile] = info["profiles"]
    assert profile == {
        "iccid": "89000123456789012341",
        "isdpAid": "A0000005591010FFFFFFFF8900001000",
        "profileState": "enabled",
        "profileNickname": None,
        "serviceProviderName": profile["serviceProviderName"],
        "profileName": "Provisioning profile",
        "profileClass": "provisioning",
    }
    assert info["notifications"] == []
    text = cli("euicc", "info", str(target), check=True).stdout
    assert "89049032123451234512345678901235" in text and "provisioning" in text
    mode = stat.S_IMODE(os.stat(target / "euicc-nist.key.pem").st_mode)
    assert mode == 0o600


def test_create_with_another_eid_issues_a_new_certificate_from_the_eum(tmp_path, pki_dir, cli):
    cli(
        "euicc",
        "create",
        str(tmp_path / "e"),
        "--pki",
        str(pki_dir),
        "--eid",
        OTHER_EID,
        "--curve",
        "brp",
        check=True,
    )
    state = read_state(tmp_path / "e")
    assert state.eid == OTHER_EID
    [identity] = state.identities
    assert identity.curve == "brp"
    creds = EuiccCredentials.load(pki_dir, "brp")
    cert = x509.load_der_x509_certificate(identity.euicc_certificate)
    chain = verify_chain(cert, [ci.cert for ci in creds.trusted_cis], [creds.eum_cert], role="euicc")
    assert chain.eid == OTHER_EID
    assert identity.euicc_certificate != creds.euicc_cert.public_bytes(Encoding.DER)
    assert len(state.trusted_cis) == 2  # still verifies with every CI


def test_create_refuses_bad_input_in_one_line(tmp_path, pki_dir, cli):
    cases = [
        ("euicc", "create", str(tmp_path / "a")),  # neither --pki nor --sgp26
        ("euicc", "create", str(tmp_path / "b"), "--pki", str(pki_dir), "--sgp26", str(SGP26)),
        ("euicc", "create", str(tmp_path / "c"), "--pki", str(tmp_path / "missing")),
        ("euicc", "create", str(tmp_path / "d"), "--pki", str(pki_dir), "--eid", "123"),
        ("euicc", "create", str(tmp_path / "e"), "--pki", str(pki_dir), "--curve", "p384"),
        (
            "euicc",
            "create",
            str(tmp_path / "f"),
            "--pki",
            str(pki_dir),
            "--with-pp",
            str(tmp_path / "none.der"),
        ),
        ("euicc", "info", str(tmp_path / "nothing")),
    ]
    for args in cases:
        result = cli(*args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    cli("euicc", "create", str(tmp_path / "g"), "--pki", str(pki_dir), check=True)
    again = cli("euicc", "create", str(tmp_path / "g"), "--pki", str(pki_dir))
    assert again.returncode == 1 and "already holds an eUICC" in again.stderr


def test_state_survives_reopen_and_writes_leave_no_temporary_files(rig):
    package = PP.read_bytes()
    iccid = ProfilePackage.from_der(package).iccid
    assert final_result(rig.lpa.download(package, store_metadata(iccid)).result)[0] == "successResult"
    assert sorted(os.listdir(rig.directory)) == [
        LOCK_FILE,
        "euicc-brp.key.pem",
        "euicc-nist.key.pem",
        STATE_FILE,
        "state.key",
    ]
    state = read_state(rig.directory)
    assert [p.iccid for p in state.profiles] == [iccid]
    assert state.next_seq_number == 2 and len(state.notifications) == 1
    card = open_card(rig.directory)  # what `openrsp euicc serve` uses
    assert card.process(bytes.fromhex("00A4040010A0000005591010FFFFFFFF8900000100"))[-2:-1] == b"\x61"


def test_a_leftover_temporary_file_from_a_crash_is_ignored_and_cleaned(rig):
    leftover = rig.directory / f".{STATE_FILE}.crashed.tmp"
    leftover.write_text("{half a state")
    rig.reopen()
    assert not leftover.exists()
    assert rig.client.call(bytes.fromhex("BF3E035C015A")).endswith(bytes.fromhex(rig.euicc.state.eid))


def test_info_shows_pending_notifications(rig, cli):
    package = PP.read_bytes()
    iccid = ProfilePackage.from_der(package).iccid
    rig.lpa.download(package, store_metadata(iccid))
    info = json.loads(cli("euicc", "info", str(rig.directory), "--json", check=True).stdout)
    assert info["notifications"] == [
        {
            "seqNumber": 1,
            "profileManagementOperation": "install",
            "notificationAddress": "smdp.openrsp.test",
            "iccid": iccid,
        }
    ]
    assert info["profiles"][0]["profileClass"] == "operational"
