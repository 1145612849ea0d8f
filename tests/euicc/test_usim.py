"""The USIM of the enabled profile through raw APDUs: files, and AUTHENTICATE computed with the
profile's own Milenage keys (and AUTS on a stale sequence number), keys that nothing can read."""

from __future__ import annotations

from pathlib import Path

import pytest
from rsp_harness import final_result, store_metadata

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import iccid_to_bytes
from openrsp.crypto.aka import build_autn, generate_vector, recover_sqn_ms
from openrsp.profile.generate import generate_package
from openrsp.profile.package import ProfilePackage
from openrsp.profile.subscription import Subscription

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
KI = bytes.fromhex("465B5CE8B199B49FAA5F0A2EE238A6BC")
OPC = bytes.fromhex("CD63CB71954A9F4E48A5994E37A02BAF")
AMF = bytes.fromhex("8000")
RAND = bytes.fromhex("23553CBE9637A89D218AE64DAE47BF35")
SUBSCRIPTION = Subscription(
    iccid="8949012345678901238", imsi="001010000012345", ki=KI, opc=OPC, spn="openrsp", msisdn="+15551234"
)


def apdu(card, command: str) -> tuple[bytes, int]:
    """One command, following 61xx with GET RESPONSE like a T=0 terminal."""
    raw = card.process(bytes.fromhex(command.replace(" ", "")))
    data, sw = raw[:-2], int.from_bytes(raw[-2:], "big")
    while sw >> 8 == 0x61:
        raw = card.process(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
        data, sw = data + raw[:-2], int.from_bytes(raw[-2:], "big")
    return data, sw


def _install_and_enable(rig, package: bytes) -> ProfilePackage:
    parsed = ProfilePackage.from_der(package)
    download = rig.lpa.download(package, store_metadata(parsed.iccid))
    assert final_result(download.result)[0] == "successResult"
    request = rsp().encode(
        "EnableProfileRequest",
        {"profileIdentifier": ("iccid", iccid_to_bytes(parsed.iccid)), "refreshFlag": True},
    )
    assert rsp().decode("EnableProfileResponse", rig.client.call(request)) == {"enableResult": 0}
    return parsed


@pytest.fixture
def milenage_rig(rig):
    rig.package = _install_and_enable(rig, generate_package(SUBSCRIPTION))
    return rig


def _select_usim(rig) -> None:
    aid = rig.package.usim_aid.hex()
    data, sw = apdu(rig.card, f"00A40404{len(rig.package.usim_aid):02X}{aid}")
    assert sw == 0x9000 and data[0] == 0x62


def _authenticate(rig, rand: bytes, autn: bytes) -> tuple[bytes, int]:
    return apdu(rig.card, "00880081" + "22" + "10" + rand.hex() + "10" + autn.hex())


def test_authenticate_gives_the_milenage_result_of_the_profile_keys(milenage_rig):
    rig = milenage_rig
    _select_usim(rig)
    vector = generate_vector(KI, OPC, RAND, 1, AMF)
    data, sw = _authenticate(rig, RAND, vector.autn)
    assert sw == 0x9000
    assert data == b"\xdb" + bytes([8]) + vector.xres + bytes([16]) + vector.ck + bytes([16]) + vector.ik


def test_stale_sequence_number_gives_auts_and_survives_a_power_cycle(milenage_rig):
    rig = milenage_rig
    _select_usim(rig)
    assert _authenticate(rig, RAND, build_autn(KI, OPC, RAND, 40, AMF))[1] == 0x9000
    rig.reopen()
    _select_usim(rig)
    data, sw = _authenticate(rig, RAND, build_autn(KI, OPC, RAND, 40, AMF))  # replayed
    assert sw == 0x9000 and data[:2] == b"\xdc\x0e"
    assert recover_sqn_ms(KI, OPC, RAND, data[2:]) == 40
    assert _authenticate(rig, RAND, build_autn(KI, OPC, RAND, 41, AMF))[0][0] == 0xDB


def test_wrong_mac_is_9862(milenage_rig):
    rig = milenage_rig
    _select_usim(rig)
    autn = bytearray(build_autn(KI, OPC, RAND, 5, AMF))
    autn[-1] ^= 0xFF
    assert _authenticate(rig, RAND, bytes(autn)) == (b"", 0x9862)


def test_ts48_test_algorithm_is_refused_with_a_clear_status_word(rig):
    rig.package = _install_and_enable(
        rig, (SHARED / "profiles" / "ts48" / "TS48V1-A-UNIQUE.der").read_bytes()
    )
    assert rig.package.aka.algorithm == "usim-test-algorithm"
    _select_usim(rig)
    assert _authenticate(rig, RAND, build_autn(KI, OPC, RAND, 1, AMF)) == (b"", 0x6A81)


def test_read_binary_of_imsi_ad_and_iccid(milenage_rig):
    rig = milenage_rig
    files = rig.package.files
    _select_usim(rig)
    for fid, name in (("6F07", "ADF.USIM/EF.IMSI"), ("6FAD", "ADF.USIM/EF.AD")):
        data, sw = apdu(rig.card, f"00A4000402{fid}")
        assert sw == 0x9000 and data[0] == 0x62
        assert apdu(rig.card, "00B0000000") == (files[name], 0x9000)
    data, sw = apdu(rig.card, "00A4080C022FE2")  # path from the MF
    assert sw == 0x9000
    assert apdu(rig.card, "00B000000A") == (files["MF/EF.ICCID"], 0x9000)
    # also on the basic channel with no application selected, as a modem reads EF.ICCID at power-on
    rig.reset_card()
    apdu(rig.card, "00A40004023F00")
    apdu(rig.card, "00A40004022FE2")
    assert apdu(rig.card, "00B000000A")[0] == files["MF/EF.ICCID"]


def test_ki_and_opc_never_leave_the_card(milenage_rig):
    rig = milenage_rig
    _select_usim(rig)
    seen = b""
    for path, stored in rig.euicc.state.enabled_profile().files.items():
        if stored.is_directory or not path.startswith("ADF.USIM/") or stored.fid is None:
            continue
        data, sw = apdu(rig.card, f"00A40004 02{stored.fid.hex()}")
        seen += data
        for offset in range(0, len(stored.content), 256):
            data, _ = apdu(rig.card, f"00B0{offset:04X}00")
            seen += data
    assert seen and KI not in seen and OPC not in seen


def test_usim_status_words(milenage_rig):
    rig = milenage_rig
    _select_usim(rig)
    assert apdu(rig.card, "00B0000000")[1] == 0x6986  # no EF selected
    assert apdu(rig.card, "00A4000402ABCD")[1] == 0x6A82
    assert apdu(rig.card, "00880080" + "22" + "10" + RAND.hex() + "10" + RAND.hex())[1] == 0x6A86
    assert apdu(rig.card, "00880081" + "05" + "0102030405")[1] == 0x6A80


def test_no_enabled_profile_means_no_usim(rig):
    package = generate_package(SUBSCRIPTION)
    download = rig.lpa.download(package, store_metadata(SUBSCRIPTION.iccid))
    assert final_result(download.result)[0] == "successResult"  # installed, but disabled
    aid = ProfilePackage.from_der(package).usim_aid.hex()
    assert apdu(rig.card, f"00A40404{len(aid) // 2:02X}{aid}")[1] == 0x6A82
