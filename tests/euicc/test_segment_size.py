"""Profile segments over SGP.22's 1020 bytes: pySim's SM-DP+ (osmo-smdpp) protects 1008 plaintext
bytes per segment and always adds the padding block, so its full segments are 1036 bytes. Real eUICCs
install such packages and so does ours; in strict mode it refuses them and says which rule."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rsp_harness import final_result, store_metadata

from openrsp.asn1 import saip
from openrsp.crypto.errors import BspStructureError
from openrsp.crypto.kdf import SessionKeys
from openrsp.es8.bsp import MAX_RECEIVED_SEGMENT_SIZE, TAG_PROFILE, BspReceiver, BspSender
from openrsp.euicc.store import set_strict
from openrsp.profile.package import ProfilePackage

OPENRSP = Path(sys.executable).parent / "openrsp"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
PACKAGE = SHARED / "profiles" / "ts48" / "TS48V1-A-UNIQUE.der"
OSMO_CHUNK = 1008  # plaintext bytes per segment in osmo-smdpp
PPK = SessionKeys(bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18)))


def osmo_style_segments(package: bytes, ppk: SessionKeys = PPK) -> bytes:
    """The profile as osmo-smdpp protects it: 1008-byte chunks, each padded to 1024 encrypted bytes."""
    sender = BspSender(ppk, max_segment_size=1036)
    chunks = [package[i : i + OSMO_CHUNK] for i in range(0, len(package), OSMO_CHUNK)]
    return b"".join(sender.protect(TAG_PROFILE, chunk) for chunk in chunks)


def _segments_86(download) -> list[bytes]:
    return [s for s in download.segments if s[0] == 0x86]


def _download_osmo_style(rig):
    package = PACKAGE.read_bytes()
    iccid = ProfilePackage.from_der(package).iccid
    options = {"ppk": PPK, "protected_profile": osmo_style_segments(package)}
    return iccid, rig.lpa.download(package, store_metadata(iccid), bpp_options=options)


def test_1036_byte_segments_install_on_the_euicc(rig):
    iccid, download = _download_osmo_style(rig)
    sizes = [len(s) for s in _segments_86(download)]
    assert len(sizes) > 2 and set(sizes[:-1]) == {1036}  # every full segment as osmo-smdpp sends it
    assert final_result(download.result)[0] == "successResult", download.result
    rig.reopen()
    assert [p.iccid for p in rig.euicc.state.profiles] == [iccid]


def test_strict_mode_refuses_1036_byte_segments_and_names_the_rule(rig):
    set_strict(rig.directory, True)
    rig.reopen()
    _iccid, download = _download_osmo_style(rig)
    kind, value = final_result(download.result)
    assert kind == "errorResult"
    assert (value["bppCommandId"], value["errorReason"]) == (
        5,
        7,
    )  # loadProfileElements, scp03tStructureError
    reason = saip().decode("EUICCResponse", value["simaResponse"])["statusMessage"]
    assert "1036 bytes" in reason and "1020" in reason and "SGP.22 2.5.5" in reason
    rig.reopen()
    assert rig.euicc.state.profiles == []


def test_strict_mode_still_installs_what_the_openrsp_smdp_sends(rig):
    set_strict(rig.directory, True)
    rig.reopen()
    package = PACKAGE.read_bytes()
    iccid = ProfilePackage.from_der(package).iccid
    download = rig.lpa.download(package, store_metadata(iccid), bpp_options={"ppk": PPK})
    assert max(len(s) for s in _segments_86(download)) == 1020
    assert final_result(download.result)[0] == "successResult"


def test_the_receiver_bound_is_one_store_data_chain():
    # One segment is one LoadBoundProfilePackage: 256 STORE DATA blocks (P2 00..FF) of 255 bytes.
    assert MAX_RECEIVED_SEGMENT_SIZE == 65_280
    sender = BspSender(PPK, max_segment_size=70_000)
    too_big = sender.protect(TAG_PROFILE, bytes(65_300))
    with pytest.raises(BspStructureError, match="exceeds 65280"):
        BspReceiver(PPK).unprotect(too_big)


def test_the_smdp_side_still_splits_at_1020_bytes():
    segments = BspSender(PPK).protect_profile(bytes(5000))
    assert max(len(s) for s in segments) == 1020
    with pytest.raises(BspStructureError):
        BspSender(PPK).protect(TAG_PROFILE, bytes(OSMO_CHUNK))  # 1036 bytes: not from our SM-DP+


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OPENRSP), *args], capture_output=True, text=True, timeout=120)


def test_euicc_create_strict_is_stored_in_the_state(tmp_path, pki_dir):
    strict, lenient = tmp_path / "strict", tmp_path / "lenient"
    assert _cli("euicc", "create", str(strict), "--pki", str(pki_dir), "--strict").returncode == 0
    assert _cli("euicc", "create", str(lenient), "--pki", str(pki_dir)).returncode == 0
    assert json.loads((strict / "state.json").read_text())["strict"] is True
    assert json.loads((lenient / "state.json").read_text())["strict"] is False
    info = _cli("euicc", "info", str(strict))
    assert "strict" in info.stdout


def _serve_until_announced(directory: Path, flag: str) -> None:
    """`openrsp euicc serve DIR FLAG` (no vpcd listening), stopped with SIGTERM once it serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(OPENRSP), "euicc", "serve", str(directory), flag, "--vpcd", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert "serving the eUICC" in process.stderr.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_euicc_serve_strict_and_lenient_switch_the_stored_mode(euicc_dir):
    _serve_until_announced(euicc_dir, "--strict")
    assert json.loads((euicc_dir / "state.json").read_text())["strict"] is True
    _serve_until_announced(euicc_dir, "--lenient")
    assert json.loads((euicc_dir / "state.json").read_text())["strict"] is False
