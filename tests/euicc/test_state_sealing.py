"""Ki and OPc sealed in the eUICC's state under the card's own key (DIR/state.key, 0600): a copied
state.json alone does not give the subscriber keys away; clear states from before are sealed on load."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rsp_harness import final_result, store_metadata
from test_usim import _install_and_enable, apdu

from openrsp.crypto.aka import generate_vector
from openrsp.euicc.sealing import KEY_FILE
from openrsp.euicc.state import StateError
from openrsp.euicc.store import STATE_FILE, read_state
from openrsp.profile import Subscription, generate_package
from openrsp.profile.package import ProfilePackage

OPENRSP = Path(sys.executable).parent / "openrsp"
KI = bytes.fromhex("5A1B2C3D4E5F60718293A4B5C6D7E8F9")
OPC = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
SUB = Subscription(iccid="8900101012345678904", imsi="001010123456789", ki=KI, opc=OPC)


def _spellings(secret: bytes) -> list[bytes]:
    return [secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret), secret]


def _assert_no_secret_in(path: Path) -> None:
    data = path.read_bytes()
    for secret in (KI, OPC):
        for spelling in _spellings(secret):
            assert spelling not in data, f"{spelling!r} found in {path.name}"


@pytest.fixture
def installed(rig):
    package = generate_package(SUB)
    iccid = ProfilePackage.from_der(package).iccid
    assert final_result(rig.lpa.download(package, store_metadata(iccid)).result)[0] == "successResult"
    return rig, iccid


@pytest.fixture
def enabled(rig):
    return rig, _install_and_enable(rig, generate_package(SUB))


def _authenticate(rig, package: ProfilePackage, sqn: int) -> None:
    """SELECT the USIM, then a Milenage AUTHENTICATE: RES right only if the card's Ki/OPc opened."""
    rand = bytes(range(16))
    vector = generate_vector(KI, OPC, rand, sqn, b"\x80\x00")
    data, sw = apdu(rig.card, f"00A40404{len(package.usim_aid):02X}{package.usim_aid.hex()}")
    assert sw == 0x9000
    data, sw = apdu(rig.card, "00880081" + "22" + "10" + rand.hex() + "10" + vector.autn.hex())
    assert sw == 0x9000 and data[:1] == b"\xdb" and vector.xres in data


def test_state_file_holds_no_ki_or_opc_and_the_key_file_is_private(installed):
    rig, iccid = installed
    _assert_no_secret_in(rig.directory / STATE_FILE)
    stored = json.loads((rig.directory / STATE_FILE).read_text())
    [profile] = stored["profiles"]
    assert set(profile["aka"]) == {"algorithm", "sqnMs", "sealed"}
    key_mode = stat.S_IMODE((rig.directory / KEY_FILE).stat().st_mode)
    assert key_mode == 0o600
    state = read_state(rig.directory)
    assert (state.profiles[0].aka.ki, state.profiles[0].aka.opc) == (KI, OPC)


def test_usim_authenticate_works_with_the_sealed_keys_after_a_power_cycle(enabled):
    rig, package = enabled
    rig.reopen()
    _authenticate(rig, package, 1)
    _assert_no_secret_in(rig.directory / STATE_FILE)  # the SQN update is written sealed too
    rig.reopen()
    _authenticate(rig, package, 2)


def test_a_copied_state_file_alone_does_not_open(installed, tmp_path):
    rig, _ = installed
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(rig.directory / STATE_FILE, copy / STATE_FILE)
    with pytest.raises(StateError, match=r"state\.key is missing"):
        read_state(copy)
    other = tmp_path / "other-card"
    shutil.copytree(rig.directory, other)
    (other / KEY_FILE).write_bytes(os.urandom(32))  # another card's key
    with pytest.raises(StateError, match="do not open"):
        read_state(other)


def test_a_clear_state_from_before_is_sealed_on_load(enabled):
    rig, package = enabled
    iccid, directory = package.iccid, rig.directory
    clear = read_state(directory).to_json()  # what the state file held before sealing existed
    (directory / STATE_FILE).write_text(json.dumps(clear, indent=1))
    (directory / KEY_FILE).unlink()
    assert KI.hex().upper().encode() in (directory / STATE_FILE).read_bytes()

    rig.reopen()
    assert rig.euicc.state.profile_by_iccid(iccid).aka.ki == KI
    _assert_no_secret_in(directory / STATE_FILE)
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    _authenticate(rig, package, 1)


def test_a_key_file_others_can_read_is_refused(installed):
    rig, _ = installed
    (rig.directory / KEY_FILE).chmod(0o644)
    with pytest.raises(StateError, match="chmod 600"):
        read_state(rig.directory)


def test_a_symlinked_key_file_is_not_followed(installed, tmp_path):
    rig, _ = installed
    elsewhere = tmp_path / "elsewhere.key"
    (rig.directory / KEY_FILE).rename(elsewhere)
    (rig.directory / KEY_FILE).symlink_to(elsewhere)
    with pytest.raises(StateError, match="cannot open"):
        read_state(rig.directory)


def test_euicc_info_is_unchanged_for_users(installed):
    rig, iccid = installed
    text = subprocess.run(
        [str(OPENRSP), "euicc", "info", str(rig.directory)], capture_output=True, text=True, timeout=120
    )
    assert text.returncode == 0, text.stderr
    assert iccid in text.stdout and "EID" in text.stdout
    as_json = subprocess.run(
        [str(OPENRSP), "euicc", "info", "--json", str(rig.directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert [p["iccid"] for p in json.loads(as_json.stdout)["profiles"]] == [iccid]
