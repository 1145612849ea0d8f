"""SCP03t segment protection, byte for byte against the published vectors, both directions."""

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from openrsp.crypto.errors import BspMacError, BspStructureError
from openrsp.crypto.kdf import SessionKeys
from openrsp.es8.bsp import (
    MAX_SEGMENT_SIZE,
    TAG_ENCRYPTED,
    TAG_MAC_ONLY,
    TAG_PROFILE,
    BspReceiver,
    BspSender,
    encode_replace_session_keys,
    parse_replace_session_keys,
)


def flip_bit(data: bytes, index: int, bit: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


def test_sender_protects_vector_4_session_byte_for_byte(vec):
    sender = BspSender(vec.KEYS_A)
    assert sender.protect(TAG_ENCRYPTED, vec.CONFIGURE_ISDP) == vec.CONFIGURE_ISDP_PROTECTED
    assert sender.protect(TAG_MAC_ONLY, vec.STORE_METADATA) == vec.STORE_METADATA_PROTECTED
    assert sender.protect(TAG_ENCRYPTED, vec.REPLACE_SESSION_KEYS) == vec.REPLACE_SESSION_KEYS_PROTECTED


def test_replace_session_keys_payload_matches_vector(vec):
    assert encode_replace_session_keys(vec.PPK) == vec.REPLACE_SESSION_KEYS
    assert parse_replace_session_keys(vec.REPLACE_SESSION_KEYS) == vec.PPK


def test_sender_profile_segments_under_replaced_keys_byte_for_byte(vec):
    sender = BspSender(vec.KEYS_A)
    sender.protect(TAG_ENCRYPTED, vec.CONFIGURE_ISDP)
    sender.protect(TAG_MAC_ONLY, vec.STORE_METADATA)
    assert sender.replace_session_keys(vec.PPK) == vec.REPLACE_SESSION_KEYS_PROTECTED
    assert sender.protect(TAG_PROFILE, vec.segment0_plain) == vec.segment0_protected
    assert sender.protect(TAG_PROFILE, vec.segment1_plain) == vec.segment1_protected


def test_profile_split_gives_the_vector_segments(vec):
    # The vector segments are 1007 plain bytes each: the most that fits 1020 protected bytes.
    segments = BspSender(vec.PPK).protect_profile(vec.segment0_plain + vec.segment1_plain)
    assert segments == [vec.segment0_protected, vec.segment1_protected]
    assert all(len(segment) == MAX_SEGMENT_SIZE for segment in segments)


def test_receiver_recovers_every_vector_plaintext_and_switches_keys(vec):
    receiver = BspReceiver(vec.KEYS_A)
    assert receiver.unprotect(vec.CONFIGURE_ISDP_PROTECTED) == vec.CONFIGURE_ISDP
    assert receiver.unprotect(vec.STORE_METADATA_PROTECTED) == vec.STORE_METADATA
    assert receiver.accept_replace_session_keys(vec.REPLACE_SESSION_KEYS_PROTECTED) == vec.PPK
    assert receiver.unprotect(vec.segment0_protected) == vec.segment0_plain
    assert receiver.unprotect(vec.segment1_protected) == vec.segment1_plain


def test_receiver_with_explicit_key_switch(vec):
    receiver = BspReceiver(vec.KEYS_A)
    receiver.unprotect(vec.CONFIGURE_ISDP_PROTECTED)
    receiver.unprotect(vec.STORE_METADATA_PROTECTED)
    receiver.switch_keys(parse_replace_session_keys(receiver.unprotect(vec.REPLACE_SESSION_KEYS_PROTECTED)))
    assert receiver.unprotect(vec.segment0_protected) == vec.segment0_plain


@pytest.mark.parametrize(
    "index",
    [0, 1, 2, 10, -9, -1],  # tag, length, first data byte, middle, last data byte, MAC
    ids=["tag", "length", "data-first", "data-middle", "data-last", "mac"],
)
def test_flipped_bit_in_configure_isdp_is_rejected(vec, index):
    receiver = BspReceiver(vec.KEYS_A)
    tampered = flip_bit(vec.CONFIGURE_ISDP_PROTECTED, index % len(vec.CONFIGURE_ISDP_PROTECTED))
    with pytest.raises((BspMacError, BspStructureError)):
        receiver.unprotect(tampered)


@pytest.mark.parametrize("index", [4, 20, 100, 1011, 1019])  # data first, middle, last; MAC
def test_flipped_bit_in_profile_segment_gives_mac_error(vec, index):
    receiver = BspReceiver(vec.PPK)
    with pytest.raises(BspMacError):
        receiver.unprotect(flip_bit(vec.segment0_protected, index, bit=7))


def test_flipped_bit_in_mac_only_segment_gives_mac_error(vec):
    receiver = BspReceiver(vec.KEYS_A)
    receiver.unprotect(vec.CONFIGURE_ISDP_PROTECTED)
    with pytest.raises(BspMacError):
        receiver.unprotect(flip_bit(vec.STORE_METADATA_PROTECTED, 5))


def test_rejected_segment_leaves_the_session_usable(vec):
    receiver = BspReceiver(vec.KEYS_A)
    with pytest.raises(BspMacError):
        receiver.unprotect(flip_bit(vec.CONFIGURE_ISDP_PROTECTED, 5))
    assert receiver.unprotect(vec.CONFIGURE_ISDP_PROTECTED) == vec.CONFIGURE_ISDP


def test_segments_out_of_order_fail_the_mac_chain(vec):
    receiver = BspReceiver(vec.KEYS_A)
    with pytest.raises(BspMacError):
        receiver.unprotect(vec.STORE_METADATA_PROTECTED)


def test_replayed_segment_fails_the_mac_chain(vec):
    receiver = BspReceiver(vec.PPK)
    receiver.unprotect(vec.segment0_protected)
    with pytest.raises(BspMacError):
        receiver.unprotect(vec.segment0_protected)


def test_wrong_session_keys_give_mac_error(vec):
    with pytest.raises(BspMacError):
        BspReceiver(vec.KEYS_B).unprotect(vec.CONFIGURE_ISDP_PROTECTED)


@pytest.mark.parametrize(
    "segment",
    [
        b"",
        bytes.fromhex("89 0A") + bytes(10),  # unknown tag
        bytes.fromhex("BF25 0A") + bytes(10),  # two-byte tag
        bytes.fromhex("87 18") + bytes(10),  # truncated
        bytes.fromhex("87 0A") + bytes(10) + b"\x00",  # trailing byte
        bytes.fromhex("87 0C") + bytes(12),  # encrypted data not whole blocks (4 + 8 MAC)
        bytes.fromhex("87 08") + bytes(8),  # encrypted but no data at all
        bytes.fromhex("88 05") + bytes(5),  # shorter than the MAC
        bytes.fromhex("87 8118") + bytes(24),  # length not in minimal form
        bytes.fromhex("86 820401") + bytes(1025),  # larger than 1020 bytes
    ],
    ids=[
        "empty",
        "tag89",
        "tag-bf25",
        "truncated",
        "trailing",
        "partial-block",
        "no-data",
        "no-mac",
        "long-length",
        "oversize",
    ],
)
def test_malformed_segments_give_structure_error(vec, segment):
    with pytest.raises(BspStructureError):
        BspReceiver(vec.KEYS_A).unprotect(segment)


def _protect_raw(keys: SessionKeys, tag: int, padded_plaintext: bytes) -> bytes:
    """An authentic first segment whose plaintext is NOT padded as SCP03t wants (built by hand)."""
    icv_cipher = Cipher(algorithms.AES(keys.s_enc), modes.ECB()).encryptor()
    icv = icv_cipher.update((1).to_bytes(16, "big")) + icv_cipher.finalize()
    encryptor = Cipher(algorithms.AES(keys.s_enc), modes.CBC(icv)).encryptor()
    data = encryptor.update(padded_plaintext) + encryptor.finalize()
    header = bytes([tag, len(data) + 8])
    cmac = CMAC(algorithms.AES(keys.s_mac))
    cmac.update(keys.initial_mcv + header + data)
    return header + data + cmac.finalize()[:8]


def test_authentic_segment_with_bad_padding_gives_structure_error(vec):
    with pytest.raises(BspStructureError, match="padding"):
        BspReceiver(vec.KEYS_A).unprotect(_protect_raw(vec.KEYS_A, TAG_ENCRYPTED, bytes(16)))


def test_hand_built_segment_with_good_padding_is_accepted(vec):
    # Cross-checks the receiver against an independent construction of the same steps.
    segment = _protect_raw(vec.KEYS_A, TAG_ENCRYPTED, b"hello" + b"\x80" + bytes(10))
    assert BspReceiver(vec.KEYS_A).unprotect(segment) == b"hello"


@pytest.mark.parametrize(
    "plaintext", [b"", b"x", bytes(15), bytes(16), bytes(17), bytes(1006), bytes(1007)], ids=len
)
def test_round_trip_for_boundary_sizes(plaintext):
    keys = SessionKeys(s_enc=bytes(range(16)), s_mac=bytes(range(1, 17)), initial_mcv=bytes(16))
    for tag in (TAG_ENCRYPTED, TAG_PROFILE, TAG_MAC_ONLY):
        segment = BspSender(keys).protect(tag, plaintext)
        assert len(segment) <= MAX_SEGMENT_SIZE
        assert BspReceiver(keys).unprotect(segment) == plaintext


def test_sender_refuses_a_plaintext_that_cannot_fit_one_segment(vec):
    with pytest.raises(BspStructureError):
        BspSender(vec.KEYS_A).protect(TAG_PROFILE, bytes(1008))
    with pytest.raises(BspStructureError):
        BspSender(vec.KEYS_A).protect(TAG_MAC_ONLY, bytes(1009))
    with pytest.raises(BspStructureError):
        BspSender(vec.KEYS_A).protect(0x89, b"")


@pytest.mark.parametrize("tag", [TAG_PROFILE, TAG_MAC_ONLY])
def test_long_plaintext_is_split_and_reassembled(vec, tag):
    plaintext = bytes(i % 251 for i in range(3000))
    segments = BspSender(vec.KEYS_A).protect_segments(tag, plaintext)
    assert len(segments) == 3
    assert all(segment[0] == tag and len(segment) <= MAX_SEGMENT_SIZE for segment in segments)
    receiver = BspReceiver(vec.KEYS_A)
    assert b"".join(receiver.unprotect(segment) for segment in segments) == plaintext


def test_whole_download_round_trip_with_fresh_keys(vec):
    sender, receiver = BspSender(vec.KEYS_B), BspReceiver(vec.KEYS_B)
    ppk = SessionKeys(s_enc=b"\x11" * 16, s_mac=b"\x22" * 16, initial_mcv=b"\x33" * 16)
    profile = bytes(i % 256 for i in range(5000))
    assert receiver.unprotect(sender.protect(TAG_ENCRYPTED, vec.CONFIGURE_ISDP)) == vec.CONFIGURE_ISDP
    for part in sender.protect_segments(TAG_MAC_ONLY, vec.STORE_METADATA):
        assert receiver.unprotect(part) == vec.STORE_METADATA
    assert receiver.accept_replace_session_keys(sender.replace_session_keys(ppk)) == ppk
    assert b"".join(receiver.unprotect(s) for s in sender.protect_profile(profile)) == profile


@pytest.mark.parametrize(
    "payload",
    [
        bytes.fromhex("BF2400"),
        bytes.fromhex("BF2603800100"),
        bytes.fromhex("BF2636") + b"".join(bytes([tag, 16]) + bytes(16) for tag in (0x81, 0x80, 0x82)),
        bytes.fromhex("BF2638")
        + b"".join(bytes([tag, 16]) + bytes(16) for tag in (0x80, 0x81, 0x82))
        + bytes(2),
    ],
    ids=["other-command", "short-field", "wrong-order", "extra-data"],
)
def test_malformed_replace_session_keys_gives_structure_error(payload):
    with pytest.raises(BspStructureError):
        parse_replace_session_keys(payload)


def test_replace_session_keys_must_be_a_tag_87_segment(vec):
    receiver = BspReceiver(vec.KEYS_A)
    receiver.unprotect(vec.CONFIGURE_ISDP_PROTECTED)
    with pytest.raises(BspStructureError):
        receiver.accept_replace_session_keys(vec.STORE_METADATA_PROTECTED)
