"""A strict, linear-time DER structure check: what every untrusted byte passes before a schema decoder.

It knows no schema, only the TLV grammar X.690 gives DER: tags in their shortest form (multi-byte
tags only for numbers from 31 up, no leading 0x80 continuation), definite lengths in their shortest
form, each constructed value exactly filled by its children, no end-of-contents marker, no
constructed encoding of the universal string types, bounded nesting depth and total size. Primitive
contents are not looked into, so the check reads each header byte once and never recurses in Python.

Anything it refuses would not be DER anyway; anything it lets through still goes to the decoder,
which then sees only well-nested, bounded input (see der_guard.py for the decoder's own guard).
"""

from __future__ import annotations

from openrsp.errors import OpenRSPError

# Large enough for a whole SAIP profile package or bound profile package, small enough that one
# value cannot make a decoder hold much memory.
MAX_DER_SIZE = 4 * 1024 * 1024
# SGP.22 and SAIP values nest about a dozen levels deep (a certificate inside a notification inside
# a list); asn1tools spends a few Python frames per level, so this stays far below the stack limit.
MAX_DER_DEPTH = 40
_MAX_TAG_BYTES = 4  # tag numbers below 2**21; RSP and SAIP use at most three tag bytes
_MAX_LENGTH_BYTES = 4
# Universal SEQUENCE and SET are the only universal types DER encodes constructed (plus the rare
# EXTERNAL / EMBEDDED PDV / CHARACTER STRING, which are SEQUENCEs underneath).
_UNIVERSAL_CONSTRUCTED = frozenset({0x08, 0x0B, 0x10, 0x11, 0x1D})


def _simple_header(first: int) -> bool:
    """Whether a header starting with this byte is one _read_header accepts on the tag alone:
    a one-byte tag other than 00, constructed exactly when its universal type must be."""
    if first == 0x00 or first & 0x1F == 0x1F:
        return False
    if first & 0xC0 == 0:
        return bool(first & 0x20) == ((first & 0x1F) in _UNIVERSAL_CONSTRUCTED)
    return True


# The common case, a one-byte tag and a short length, is checked inline by check_der_prefix;
# everything else (and every error, for its message) goes through _read_header.
_SIMPLE_HEADER = tuple(_simple_header(first) for first in range(256))


class DerStructureError(OpenRSPError):
    """Bytes that are not one well-formed, bounded DER value."""


def _read_header(data: bytes | bytearray | memoryview, offset: int, limit: int) -> tuple[bool, int, int]:
    """Parse tag and length at offset (not past limit); return (constructed, value start, value end)."""
    if offset >= limit:
        raise DerStructureError(f"truncated: no tag at offset {offset}")
    first = data[offset]
    pos = offset + 1
    if first & 0x1F == 0x1F:
        number = 0
        while True:
            if pos >= limit:
                raise DerStructureError(f"truncated: tag at offset {offset} is cut off")
            byte = data[pos]
            if pos == offset + 1 and byte == 0x80:
                raise DerStructureError(f"tag at offset {offset} is not in its shortest form")
            number = (number << 7) | (byte & 0x7F)
            pos += 1
            if pos - offset > _MAX_TAG_BYTES:
                raise DerStructureError(f"tag at offset {offset} is longer than {_MAX_TAG_BYTES} bytes")
            if not byte & 0x80:
                break
        if number < 31:
            raise DerStructureError(f"tag at offset {offset} is not in its shortest form")
    elif first == 0x00:
        raise DerStructureError(f"end-of-contents or tag 0 at offset {offset}")
    constructed = bool(first & 0x20)
    if (
        first & 0xC0 == 0
        and first & 0x1F != 0x1F
        and constructed != ((first & 0x1F) in _UNIVERSAL_CONSTRUCTED)
    ):
        kind = "constructed" if constructed else "primitive"
        raise DerStructureError(f"universal tag {first:02X} at offset {offset} cannot be {kind} in DER")

    if pos >= limit:
        raise DerStructureError(f"truncated: no length at offset {pos}")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise DerStructureError(f"indefinite length at offset {pos - 1}")
        if count > _MAX_LENGTH_BYTES:
            raise DerStructureError(f"length at offset {pos - 1} has {count} bytes")
        if pos + count > limit:
            raise DerStructureError(f"truncated: length at offset {pos - 1} is cut off")
        length = int.from_bytes(bytes(data[pos : pos + count]), "big")
        if length < 0x80 or data[pos] == 0:
            raise DerStructureError(f"length at offset {pos - 1} is not in its shortest form")
        pos += count
    end = pos + length
    if end > limit:
        raise DerStructureError(
            f"truncated: value at offset {offset} wants {length} bytes, {max(0, limit - pos)} left"
        )
    return constructed, pos, end


def check_der_prefix(
    data: bytes | bytearray | memoryview, *, max_size: int = MAX_DER_SIZE, max_depth: int = MAX_DER_DEPTH
) -> int:
    """Check the one DER value at the start of data (more may follow); return where it ends."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DerStructureError(f"expected bytes, got {type(data).__name__}")
    constructed, start, end = _read_header(data, 0, len(data))
    if end > max_size:
        raise DerStructureError(f"value of {end} bytes is larger than the {max_size} allowed")
    # Explicit stack of (next child offset, end of the enclosing value): no Python recursion.
    stack: list[tuple[int, int]] = [(start, end)] if constructed else []
    simple = _SIMPLE_HEADER
    while stack:
        offset, limit = stack[-1]
        if offset == limit:
            stack.pop()
            continue
        first = data[offset]
        if simple[first] and offset + 1 < limit and data[offset + 1] < 0x80:
            constructed = bool(first & 0x20)
            child_start = offset + 2
            child_end = child_start + data[offset + 1]
            if child_end > limit:  # truncated: _read_header says how
                constructed, child_start, child_end = _read_header(data, offset, limit)
        else:
            constructed, child_start, child_end = _read_header(data, offset, limit)
        stack[-1] = (child_end, limit)
        if constructed:
            if len(stack) >= max_depth:
                raise DerStructureError(f"nested deeper than {max_depth} levels at offset {offset}")
            stack.append((child_start, child_end))
    return end


def check_der(
    data: bytes | bytearray | memoryview, *, max_size: int = MAX_DER_SIZE, max_depth: int = MAX_DER_DEPTH
) -> None:
    """Check that data is exactly one well-formed, bounded DER value, nothing after it."""
    end = check_der_prefix(data, max_size=max_size, max_depth=max_depth)
    if end != len(data):
        raise DerStructureError(f"{len(data) - end} bytes after the DER value")
