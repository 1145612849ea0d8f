"""Hex in and out, the way openrsp shows it: uppercase, no separators."""

from openrsp.errors import InputError


def to_hex(data: bytes) -> str:
    return data.hex().upper()


def from_hex(text: str, *, length: int | None = None, name: str = "value") -> bytes:
    """Parse hex (spaces and colons allowed); check the byte length when given."""
    cleaned = text.replace(" ", "").replace(":", "")
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        raise InputError(f"{name}: not valid hex: {text!r}") from None
    if length is not None and len(data) != length:
        raise InputError(f"{name}: expected {length} bytes ({2 * length} hex digits), got {len(data)}")
    return data
