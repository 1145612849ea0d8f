"""BER-TLV in and out: how openrsp splits and builds tag-length-value bytes by hand (the ES8+ segments,
the card's FCI and file records, SAIP file contents all use it).

Tags are kept as the integer of their bytes as written on the wire (0x5A, 0xBF36, 0x5F37,
0x9F70, ...), which is how SGP.22 and ETSI name them. Lengths are read in short or long form
(up to four length bytes) and always written minimally, as DER wants. Indefinite lengths are
refused: nothing in RSP uses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from openrsp.errors import OpenRSPError

_MAX_LENGTH_BYTES = 4
# RSP and SAIP tags have at most three bytes; a bound keeps a run of continuation bytes from
# growing one huge integer (quadratic time).
_MAX_TAG_BYTES = 4


class TlvError(OpenRSPError):
    """Bytes that are not a complete, well-formed BER-TLV."""


@dataclass(frozen=True)
class Tlv:
    """One TLV as found in a buffer."""

    tag: int  # the tag bytes as one integer, e.g. 0xBF36
    value: bytes  # the contents, without tag and length
    raw: bytes  # tag, length and value exactly as they appeared
    header_len: int  # how many bytes of raw are tag and length
    end: int  # offset in the source buffer just past this TLV

    @property
    def header(self) -> bytes:
        """The tag and length bytes, as they appeared."""
        return self.raw[: self.header_len]

    @property
    def constructed(self) -> bool:
        """True when the value is itself a series of TLVs (bit 6 of the first tag byte)."""
        return bool(self.raw[0] & 0x20)

    @property
    def start(self) -> int:
        """Offset in the source buffer of the first tag byte."""
        return self.end - len(self.raw)

    def children(self) -> list[Tlv]:
        """The TLVs inside a constructed TLV's value."""
        return list(iter_tlvs(self.value))


def tag_bytes(tag: int) -> bytes:
    """The wire bytes of a tag integer: 0x5A -> 5A, 0xBF36 -> BF 36."""
    if tag < 0:
        raise TlvError(f"negative tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    """Minimal DER length: one byte below 128, else 81 xx, 82 xx xx, ..."""
    if length < 0:
        raise TlvError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > _MAX_LENGTH_BYTES:
        raise TlvError(f"length {length} too large")
    return bytes([0x80 | len(body)]) + body


def encode_header(tag: int, length: int) -> bytes:
    """Tag and length alone, for sending a constructed TLV's opening before its contents."""
    return tag_bytes(tag) + encode_length(length)


def encode_tlv(tag: int, value: bytes) -> bytes:
    """One TLV with a minimal length."""
    length = len(value)
    if 0 <= tag <= 0xFF and length < 0x80:  # one tag byte, short length: most TLVs, built directly
        return bytes((tag, length)) + bytes(value)
    return encode_header(tag, length) + bytes(value)


def read_tag(buf: bytes, offset: int = 0) -> tuple[int, int]:
    """Parse the tag at offset; return (tag, offset after it)."""
    if offset >= len(buf):
        raise TlvError(f"truncated: no tag at offset {offset}")
    first = buf[offset]
    tag = first
    pos = offset + 1
    if first & 0x1F == 0x1F:  # high tag number form: more bytes while bit 8 is set
        while True:
            if pos >= len(buf):
                raise TlvError(f"truncated: tag starting at offset {offset} is cut off")
            byte = buf[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & 0x80:
                break
            if pos - offset >= _MAX_TAG_BYTES:
                raise TlvError(f"tag at offset {offset} is longer than {_MAX_TAG_BYTES} bytes")
    return tag, pos


def read_length(buf: bytes, offset: int) -> tuple[int, int]:
    """Parse the length at offset; return (length, offset after it)."""
    if offset >= len(buf):
        raise TlvError(f"truncated: no length at offset {offset}")
    first = buf[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0:
        raise TlvError(f"indefinite length at offset {offset} is not allowed")
    if count > _MAX_LENGTH_BYTES:
        raise TlvError(f"bad length byte {first:02X} at offset {offset}")
    end = offset + 1 + count
    if end > len(buf):
        raise TlvError(f"truncated: length at offset {offset} is cut off")
    return int.from_bytes(buf[offset + 1 : end], "big"), end


def read_tlv(buf: bytes, offset: int = 0) -> Tlv:
    """Parse the TLV starting at offset."""
    if offset + 1 < len(buf):
        tag, length = buf[offset], buf[offset + 1]
        if tag & 0x1F != 0x1F and length < 0x80:  # one tag byte, short length: read here directly
            end = offset + 2 + length
            if end <= len(buf):
                value = bytes(buf[offset + 2 : end])
                return Tlv(tag=tag, value=value, raw=bytes(buf[offset:end]), header_len=2, end=end)
    tag, pos = read_tag(buf, offset)
    length, value_start = read_length(buf, pos)
    end = value_start + length
    if end > len(buf):
        raise TlvError(
            f"truncated: TLV {tag_bytes(tag).hex().upper()} at offset {offset} wants {length} "
            f"bytes, {len(buf) - value_start} left"
        )
    return Tlv(
        tag=tag,
        value=bytes(buf[value_start:end]),
        raw=bytes(buf[offset:end]),
        header_len=value_start - offset,
        end=end,
    )


def iter_tlvs(buf: bytes, offset: int = 0) -> Iterator[Tlv]:
    """Each TLV in buf, one after the other, from offset to the end."""
    while offset < len(buf):
        tlv = read_tlv(buf, offset)
        yield tlv
        offset = tlv.end


def find_tlv(buf: bytes, tag: int) -> Tlv | None:
    """The first TLV at the top level of buf with this tag, or None."""
    return next((tlv for tlv in iter_tlvs(buf) if tlv.tag == tag), None)


def read_single_tlv(buf: bytes, expected_tag: int | None = None) -> Tlv:
    """Parse buf as exactly one TLV (optionally of the given tag), with nothing after it."""
    tlv = read_tlv(buf)
    if tlv.end != len(buf):
        raise TlvError(f"{len(buf) - tlv.end} unexpected bytes after the TLV")
    if expected_tag is not None and tlv.tag != expected_tag:
        raise TlvError(
            f"expected tag {tag_bytes(expected_tag).hex().upper()}, got {tag_bytes(tlv.tag).hex().upper()}"
        )
    return tlv
