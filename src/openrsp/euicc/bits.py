"""Named BIT STRINGs (NotificationEvent, PprIds, resetOptions...) to and from asn1tools' (bytes, nbits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openrsp.asn1.rsp_types import bit_string, bits_set


def encode_bits(names: Iterable[str], order: Sequence[str]) -> tuple[bytes, int]:
    """DER named-bit form of the named bits, positions taken from `order`."""
    return bit_string(*(order.index(name) for name in set(names)))


def decode_bits(bits: tuple[bytes, int], order: Sequence[str]) -> list[str]:
    """Names of the bits set, in `order`; bits beyond it (from newer peers) are ignored."""
    positions = bits_set(bits)
    return [name for pos, name in enumerate(order) if pos in positions]
