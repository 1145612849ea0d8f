"""ES8+ BSP: SCP03t segments of the bound profile package as TLVs (SGP.22 §2.5.4, GP Amd F).

Sans-I/O: BspSender (SM-DP+) turns plaintext into protected TLVs, BspReceiver (eUICC) turns them
back. Both sides keep the same crypto.scp03t.ChannelState and move it the same way, one segment at
a time; the MAC covers MCV || tag || length || data, where `length` is the final TLV length, so it
already counts the 8 MAC bytes.

Tags: 87 encrypted + MACed (ConfigureISDP, ReplaceSessionKeys), 88 MAC only (StoreMetadata),
86 encrypted + MACed profile segments. Encrypted data is padded with 80 then 00s to a multiple of 16
(always at least the 80 byte). After ReplaceSessionKeys both sides switch to the profile
protection keys it carries, and the block counter starts again at 1.
"""

import hmac

from openrsp.asn1.tlv import TlvError, encode_length, encode_tlv, read_length, read_single_tlv, read_tlv
from openrsp.crypto.errors import BspMacError, BspStructureError
from openrsp.crypto.kdf import KEY_LENGTH, SessionKeys
from openrsp.crypto.scp03t import BLOCK_SIZE, MAC_SIZE, ChannelState

TAG_PROFILE = 0x86  # profile segment (loadProfileElements), encrypted + MACed
TAG_ENCRYPTED = 0x87  # ConfigureISDP, ReplaceSessionKeys: encrypted + MACed
TAG_MAC_ONLY = 0x88  # StoreMetadata: MAC only

MAX_SEGMENT_SIZE = 1020  # whole TLV: tag, length, data and MAC; what SGP.22 §2.5.5 allows and we send
# The most a receiver takes: one segment is one ES10b LoadBoundProfilePackage call, carried in one
# STORE DATA chain whose block number (P2) runs 00..FF, each block at most 255 bytes (short APDU).
# pySim's SM-DP+ sends 1036-byte segments and real eUICCs install them (docs/interop.md).
MAX_RECEIVED_SEGMENT_SIZE = 256 * 255

_ENCRYPTED_TAGS = (TAG_PROFILE, TAG_ENCRYPTED)
_KNOWN_TAGS = (*_ENCRYPTED_TAGS, TAG_MAC_ONLY)

# A segment's TLV header is at most 4 bytes (tag, 82 xx xx) for MAX_SEGMENT_SIZE.
_MAX_HEADER = 1 + len(encode_length(MAX_SEGMENT_SIZE))
# Largest plaintext per segment: MAC-only data fills the rest; encrypted data must leave room for
# at least the 80 padding byte inside whole AES blocks.
MAX_MAC_ONLY_PLAINTEXT = MAX_SEGMENT_SIZE - _MAX_HEADER - MAC_SIZE
MAX_ENCRYPTED_PLAINTEXT = (MAX_MAC_ONLY_PLAINTEXT // BLOCK_SIZE) * BLOCK_SIZE - 1

_REPLACE_SESSION_KEYS_TAG = 0xBF26


def encode_replace_session_keys(ppk: SessionKeys) -> bytes:
    """ReplaceSessionKeysRequest BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac }."""
    body = encode_tlv(0x80, ppk.initial_mcv) + encode_tlv(0x81, ppk.s_enc) + encode_tlv(0x82, ppk.s_mac)
    return encode_tlv(_REPLACE_SESSION_KEYS_TAG, body)


def parse_replace_session_keys(plaintext: bytes) -> SessionKeys:
    """The profile protection keys from a decrypted ReplaceSessionKeysRequest (BF26)."""
    try:
        outer = read_single_tlv(plaintext)
        if outer.tag != _REPLACE_SESSION_KEYS_TAG:
            raise BspStructureError(f"expected ReplaceSessionKeys (BF26), got tag {outer.tag:X}")
        body = outer.value
        fields: list[bytes] = []
        offset = 0
        for expected in (0x80, 0x81, 0x82):
            field = read_tlv(body, offset)
            offset = field.end
            if field.tag != expected or len(field.value) != KEY_LENGTH:
                raise BspStructureError(
                    f"ReplaceSessionKeys: expected tag {expected:02X} with {KEY_LENGTH} bytes"
                )
            fields.append(field.value)
        if offset != len(body):
            raise BspStructureError("ReplaceSessionKeys: unexpected data after ppkCmac")
    except TlvError as exc:
        raise BspStructureError(f"ReplaceSessionKeys: {exc}") from None
    initial_mcv, s_enc, s_mac = fields
    return SessionKeys(s_enc=s_enc, s_mac=s_mac, initial_mcv=initial_mcv)


def _too_large(segment: bytes, limit: int) -> str:
    tag = f" {segment[0]:02X}" if segment else ""
    if limit == MAX_SEGMENT_SIZE:  # short: the eUICC reports it in a 64-character statusMessage
        return f"segment{tag} of {len(segment)} bytes > 1020, SGP.22 2.5.5 (strict mode)"
    return f"segment{tag} of {len(segment)} bytes exceeds {limit}"


def _check_tag(tag: int) -> None:
    if tag not in _KNOWN_TAGS:
        raise BspStructureError(f"unknown segment tag {tag:02X}: expected 86, 87 or 88")


class BspSender:
    """SM-DP+ side: protect ConfigureISDP, StoreMetadata, ReplaceSessionKeys and profile segments."""

    def __init__(self, keys: SessionKeys, *, max_segment_size: int = MAX_SEGMENT_SIZE) -> None:
        self._state = ChannelState(keys)
        self.max_segment_size = max_segment_size  # only tests of other SM-DP+s' packages raise it

    def switch_keys(self, keys: SessionKeys) -> None:
        """Continue with other keys (the PPK after ReplaceSessionKeys); the block counter restarts."""
        self._state.switch_keys(keys)

    def protect(self, tag: int, plaintext: bytes) -> bytes:
        """One protected TLV (tag 86/87: encrypted + MACed, 88: MACed) of at most max_segment_size bytes."""
        _check_tag(tag)
        data_size = len(plaintext) if tag == TAG_MAC_ONLY else (len(plaintext) // BLOCK_SIZE + 1) * BLOCK_SIZE
        size = 1 + len(encode_length(data_size + MAC_SIZE)) + data_size + MAC_SIZE
        if size > self.max_segment_size:
            raise BspStructureError(
                f"segment plaintext of {len(plaintext)} bytes protects to {size} bytes for tag {tag:02X},"
                f" more than {self.max_segment_size}"
            )
        state = self._state
        data = plaintext if tag == TAG_MAC_ONLY else state.encrypt(plaintext)
        header = bytes([tag]) + encode_length(len(data) + MAC_SIZE)
        full_mac = state.full_mac(header, data)
        state.advance(full_mac)
        return header + data + full_mac[:MAC_SIZE]

    def protect_segments(self, tag: int, plaintext: bytes) -> list[bytes]:
        """Split `plaintext` into as few segments of `tag` as fit 1020 bytes each, and protect them."""
        _check_tag(tag)
        size = MAX_MAC_ONLY_PLAINTEXT if tag == TAG_MAC_ONLY else MAX_ENCRYPTED_PLAINTEXT
        chunks = [plaintext[i : i + size] for i in range(0, len(plaintext), size)] or [b""]
        return [self.protect(tag, chunk) for chunk in chunks]

    def protect_profile(self, profile: bytes) -> list[bytes]:
        """The profile package as tag-86 segments (each at most 1020 bytes protected)."""
        return self.protect_segments(TAG_PROFILE, profile)

    def replace_session_keys(self, ppk: SessionKeys) -> bytes:
        """Protected ReplaceSessionKeys (tag 87) under the current keys; then switch to `ppk`."""
        protected = self.protect(TAG_ENCRYPTED, encode_replace_session_keys(ppk))
        self.switch_keys(ppk)
        return protected


class BspReceiver:
    """eUICC side: verify and unprotect segments in the order the SM-DP+ protected them.

    `max_segment_size` is the largest whole TLV taken: MAX_RECEIVED_SEGMENT_SIZE by default (what
    real eUICCs accept), MAX_SEGMENT_SIZE for an eUICC that holds SM-DP+s to SGP.22's 1020 bytes.
    """

    def __init__(self, keys: SessionKeys, *, max_segment_size: int = MAX_RECEIVED_SEGMENT_SIZE) -> None:
        self._state = ChannelState(keys)
        self.max_segment_size = max_segment_size

    def switch_keys(self, keys: SessionKeys) -> None:
        """Continue with other keys (the PPK after ReplaceSessionKeys); the block counter restarts."""
        self._state.switch_keys(keys)

    def unprotect(self, segment: bytes) -> bytes:
        """Plaintext of one protected TLV: MAC verified first, then decrypted (86/87) and unpadded.

        Raises BspStructureError for a malformed segment and BspMacError for a wrong MAC; the
        state (MCV, counter) moves only when the segment was accepted.
        """
        if len(segment) > self.max_segment_size:
            raise BspStructureError(_too_large(segment, self.max_segment_size))
        try:
            tlv = read_single_tlv(segment)
        except TlvError as exc:
            raise BspStructureError(f"segment is not one TLV: {exc}") from None
        if tlv.tag > 0xFF:
            raise BspStructureError(f"unknown segment tag {tlv.tag:X}")
        if tlv.header_len != 1 + len(encode_length(len(tlv.value))):
            raise BspStructureError("segment length is not in minimal (DER) form")
        tag, body = tlv.tag, tlv.value
        _check_tag(tag)
        if len(body) < MAC_SIZE:
            raise BspStructureError("segment shorter than its C-MAC")
        data, received_mac = body[:-MAC_SIZE], body[-MAC_SIZE:]
        encrypted = tag in _ENCRYPTED_TAGS
        if encrypted and (not data or len(data) % BLOCK_SIZE):
            raise BspStructureError("encrypted segment data is not a whole number of AES blocks")

        state = self._state
        _, header_end = read_length(segment, 1)
        full_mac = state.full_mac(segment[:header_end], data)
        if not hmac.compare_digest(full_mac[:MAC_SIZE], received_mac):
            raise BspMacError(f"C-MAC of segment {tag:02X} does not verify")
        plaintext = state.decrypt(data) if encrypted else data
        state.advance(full_mac)
        return plaintext

    def accept_replace_session_keys(self, segment: bytes) -> SessionKeys:
        """Unprotect a ReplaceSessionKeys segment (tag 87), switch to its PPK and return it."""
        if segment[:1] != bytes([TAG_ENCRYPTED]):
            raise BspStructureError("ReplaceSessionKeys must come as a tag-87 segment")
        ppk = parse_replace_session_keys(self.unprotect(segment))
        self.switch_keys(ppk)
        return ppk
