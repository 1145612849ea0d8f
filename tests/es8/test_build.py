"""The SM-DP+ side of ES8+: the bound profile package against the published BSP vectors, its
InitialiseSecureChannel signature, the LPA's cut, and a rebuild with the same one-time key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import encode_tlv, read_tlv
from openrsp.crypto.ecdsa import load_private_key, private_key_from_scalar, verify_plain
from openrsp.crypto.ecka import shared_secret
from openrsp.crypto.kdf import SessionKeys, derive_session_keys
from openrsp.es8.bsp import BspReceiver
from openrsp.es8.build import build_bound_profile_package, encode_configure_isdp
from openrsp.es8.segments import (
    parse_initialise_secure_channel,
    segments_for_lpa,
    smdp_sign_input,
    split_bpp,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = (SHARED / "docs" / "bsp-test-vectors.md").read_text()


def _hex_after(label: str) -> bytes:
    match = re.search(re.escape(label) + r"[^`]*`([0-9a-fA-F ]+)`", VECTORS)
    assert match, label
    return bytes.fromhex(match.group(1).replace(" ", ""))


def _blocks() -> list[bytes]:
    return [bytes.fromhex(b) for b in re.findall(r"```\n([0-9a-f]+)\n```", VECTORS)]


EUICC_OTPK = _hex_after("eUICC one-time public key (uncompressed point):")
SMDP_OTSK = _hex_after("SM-DP+ one-time private key:")
EID = bytes.fromhex("89049032123451234512345678901235")
HOST_ID = b"\x80" * 8
CONFIGURE_PLAIN, CONFIGURE_PROTECTED = bytes.fromhex("bf2400"), _hex_after("Plain: `bf2400` → protected:")
METADATA_PLAIN = _hex_after("StoreMetadata, MAC only, tag 88. Plain:")
METADATA_PROTECTED = _hex_after(METADATA_PLAIN.hex() + "` → protected:")
RSK_PROTECTED = _hex_after("0e0f` → protected:")
PPK = SessionKeys(
    s_enc=bytes.fromhex("0101020304050607 08090A0B0C0D0E0F"),
    s_mac=bytes.fromhex("0201020304050607 08090A0B0C0D0E0F"),
    initial_mcv=bytes.fromhex("0001020304050607 08090A0B0C0D0E0F"),
)
SEG0_PLAIN, SEG0_PROTECTED, SEG1_PLAIN, SEG1_PROTECTED = _blocks()


@pytest.fixture(scope="module")
def dppb_key():
    return load_private_key(SHARED / "sgp26" / "DPpb" / "SK_S_SM_DPpb_ECDSA_NIST.pem")


def _vector_bpp(dppb_key, **changes):
    options = dict(
        transaction_id=bytes(range(16)),
        eid=EID,
        euicc_otpk=EUICC_OTPK,
        dppb_key=dppb_key,
        profile_package=SEG0_PLAIN + SEG1_PLAIN,
        store_metadata=METADATA_PLAIN,
        host_id=HOST_ID,
        smdp_ot_key=private_key_from_scalar("nist", SMDP_OTSK),
        ppk=PPK,
    )
    options.update(changes)
    return build_bound_profile_package(**options)


def test_segments_match_the_published_bsp_vectors_byte_for_byte(dppb_key):
    bpp = _vector_bpp(dppb_key)
    parts = split_bpp(bpp.der)
    assert parts.configure_isdp == [CONFIGURE_PROTECTED]
    assert parts.store_metadata == [METADATA_PROTECTED]
    assert parts.replace_session_keys == [RSK_PROTECTED]
    assert parts.profile_segments == [SEG0_PROTECTED, SEG1_PROTECTED]
    assert bpp.session_keys.s_enc.hex() == "472f5bfadd97f21d34f3ce9b51b92751"
    assert bpp.smdp_otpk == _hex_after("SM-DP+ one-time public key:")


def test_bpp_decodes_as_the_asn1_type_and_has_the_sgp22_initialise_secure_channel(dppb_key):
    bpp = _vector_bpp(dppb_key)
    value = rsp().decode("BoundProfilePackage", bpp.der)
    isc = value["initialiseSecureChannelRequest"]
    assert isc["remoteOpId"] == 1
    assert isc["transactionId"] == bytes(range(16))
    assert isc["controlRefTemplate"] == {"keyType": b"\x88", "keyLen": b"\x10", "hostId": HOST_ID}
    assert isc["smdpOtpk"] == bpp.smdp_otpk
    # BF23 { 82 01 01, 80 10 <tid>, A6 { 80 01 88, 81 01 10, 84 08 <host id> }, 5F49, 5F37 }
    raw = split_bpp(bpp.der).initialise_secure_channel
    assert raw.startswith(bytes.fromhex("BF23"))
    assert bytes.fromhex("820101" + "8010" + bytes(range(16)).hex() + "A610800188810110" + "8408") in raw


def test_smdp_sign_verifies_with_the_dppb_certificate_over_objects_and_euicc_otpk(dppb_key):
    bpp = _vector_bpp(dppb_key)
    isc = parse_initialise_secure_channel(split_bpp(bpp.der).initialise_secure_channel)
    public = dppb_key.public_key()
    assert verify_plain(public, smdp_sign_input(isc.signed_objects, EUICC_OTPK), isc.smdp_sign)
    other_otpk = bytes([0x04]) + bytes(64)
    assert not verify_plain(public, smdp_sign_input(isc.signed_objects, other_otpk), isc.smdp_sign)
    assert isc.signed_objects.startswith(encode_tlv(0x82, b"\x01"))


def test_lpa_cut_follows_sgp22_order(dppb_key):
    bpp = _vector_bpp(dppb_key)
    segments = segments_for_lpa(bpp.der)
    outer = read_tlv(bpp.der)
    assert segments[0] == bpp.der[: outer.header_len] + split_bpp(bpp.der).initialise_secure_channel
    assert segments[1][0] == 0xA0 and read_tlv(segments[1]).end == len(segments[1])
    assert segments[2][0] == 0xA1 and len(segments[2]) == read_tlv(bytes(segments[2]) + bytes(200)).header_len
    assert segments[3] == METADATA_PROTECTED
    assert segments[4][0] == 0xA2 and read_tlv(segments[4]).value == RSK_PROTECTED
    assert segments[5][:2] == bytes.fromhex("A382")  # A3 header only
    assert segments[6:] == [SEG0_PROTECTED, SEG1_PROTECTED]
    assert b"".join(segments) == bpp.der


def test_without_ppk_there_is_no_a2_and_the_receiver_gets_the_profile_back(dppb_key):
    profile = bytes(range(256)) * 12  # 3 KB: four segments
    bpp = _vector_bpp(dppb_key, ppk=None, profile_package=profile)
    parts = split_bpp(bpp.der)
    assert parts.replace_session_keys is None
    assert all(len(s) <= 1020 for s in parts.profile_segments)
    receiver = BspReceiver(
        derive_session_keys(
            bytes.fromhex("c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe"), HOST_ID, EID
        )
    )
    assert receiver.unprotect(parts.configure_isdp[0]) == CONFIGURE_PLAIN
    assert receiver.unprotect(parts.store_metadata[0]) == METADATA_PLAIN
    assert b"".join(receiver.unprotect(s) for s in parts.profile_segments) == profile
    assert [s[:1] for s in segments_for_lpa(bpp.der)][-5:-4] == [b"\xa3"]


def test_rebuild_with_the_same_one_time_key_gives_an_equivalent_package(dppb_key):
    first, second = _vector_bpp(dppb_key), _vector_bpp(dppb_key)
    assert split_bpp(first.der).profile_segments == split_bpp(second.der).profile_segments
    assert first.smdp_otpk == second.smdp_otpk
    fresh = _vector_bpp(dppb_key, smdp_ot_key=None)
    assert fresh.smdp_otpk != first.smdp_otpk
    # the eUICC side derives the same keys from its own one-time key
    euicc_secret = shared_secret(private_key_from_scalar("nist", SMDP_OTSK), EUICC_OTPK)
    assert derive_session_keys(euicc_secret, HOST_ID, EID) == first.session_keys


def test_long_metadata_is_split_over_several_88_segments(dppb_key):
    metadata = rsp().encode(
        "StoreMetadataRequest",
        {
            "iccid": bytes(10),
            "serviceProviderName": "x",
            "profileName": "y",
            "iconType": 1,
            "icon": bytes(1024),
        },
    )
    bpp = _vector_bpp(dppb_key, store_metadata=metadata)
    assert len(split_bpp(bpp.der).store_metadata) == 2


def test_configure_isdp_can_carry_dp_proprietary_data():
    oid = rsp().encode("DpProprietaryData", {"dpOid": "2.999.10"})
    request = encode_configure_isdp(read_tlv(oid).value)
    assert rsp().decode("ConfigureISDPRequest", request) == {"dpProprietaryData": {"dpOid": "2.999.10"}}
