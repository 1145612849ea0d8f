"""Just enough BER-TLV (definite lengths, multi-byte tags) for the segments the crypto layer handles."""

from openrsp.crypto.errors import TlvError


def encode_length(length: int) -> bytes:
    """BER definite length, minimal form: 7F, 81 xx, 82 xx xx, ..."""
    if length < 0:
        raise ValueError("length must not be negative")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode_tlv(tag: bytes, value: bytes) -> bytes:
    return tag + encode_length(len(value)) + value


def read_tag(data: bytes, offset: int = 0) -> tuple[bytes, int]:
    """The tag bytes at `offset` and the offset after them."""
    if offset >= len(data):
        raise TlvError("TLV truncated: no tag")
    end = offset + 1
    if data[offset] & 0x1F == 0x1F:  # multi-byte tag: continuation bytes have bit 8 set
        while True:
            if end >= len(data):
                raise TlvError("TLV truncated inside a multi-byte tag")
            end += 1
            if not data[end - 1] & 0x80:
                break
    return data[offset:end], end


def read_length(data: bytes, offset: int) -> tuple[int, int]:
    """The length at `offset` and the offset after it; rejects indefinite and non-minimal forms."""
    if offset >= len(data):
        raise TlvError("TLV truncated: no length")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 4:
        raise TlvError(f"unsupported TLV length form {first:02X}")
    if offset + 1 + count > len(data):
        raise TlvError("TLV truncated inside the length")
    length = int.from_bytes(data[offset + 1 : offset + 1 + count], "big")
    if encode_length(length) != data[offset : offset + 1 + count]:
        raise TlvError("TLV length is not in minimal form")
    return length, offset + 1 + count


def read_tlv(data: bytes, offset: int = 0) -> tuple[bytes, bytes, int]:
    """(tag, value, offset after the TLV) for the TLV starting at `offset`."""
    tag, offset = read_tag(data, offset)
    length, offset = read_length(data, offset)
    end = offset + length
    if end > len(data):
        raise TlvError(
            f"TLV {tag.hex().upper()} truncated: needs {length} value bytes, has {len(data) - offset}"
        )
    return tag, data[offset:end], end


def read_single_tlv(data: bytes) -> tuple[bytes, bytes]:
    """(tag, value) of `data` that must be exactly one TLV."""
    tag, value, end = read_tlv(data)
    if end != len(data):
        raise TlvError(f"{len(data) - end} trailing bytes after TLV {tag.hex().upper()}")
    return tag, value
