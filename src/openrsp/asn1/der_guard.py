"""Guards inside one compiled asn1tools DER specification, for what a structure check cannot see.

asn1tools 0.169's DER `ArrayType.decode_content` (SEQUENCE OF / SET OF) loops while the element
decoder returns TAG_MISMATCH without moving: an element whose tag is not the element type's tag
(a well-formed TLV, so no schema-free check catches it) appends TAG_MISMATCH forever, with memory
growing until the process dies. Its BER twin checks for that; the DER one does not.

`guard_spec` walks the compiled type tree of one specification and swaps the class of each SEQUENCE
OF / SET OF (and OBJECT IDENTIFIER) object for a guarded subclass. Only the objects of the
specification it is given change: the asn1tools module itself, and any other compiled
specification in the process, stay as they are.
"""

from __future__ import annotations

from typing import Any

from asn1tools.codecs import ber, der

# An OBJECT IDENTIFIER this long is no real one; without a bound, decoding a long run of 0xFF
# continuation bytes as one arc costs quadratic time.
MAX_OID_CONTENT = 128


class _GuardedArrayMixin:
    element_type: Any

    def decode_content(self, data: bytearray, offset: int, length: int) -> tuple[list[Any], int]:
        end = offset + length
        decoded: list[Any] = []
        while offset < end:
            element, next_offset = self.element_type.decode(data, offset)
            ber.check_decode_error(self.element_type, element, data, offset)
            if next_offset <= offset:  # never again a loop that does not move
                raise ber.DecodeError(f"element at offset {offset} is empty", offset=offset)
            decoded.append(element)
            offset = next_offset
        if offset != end:
            raise ber.DecodeError(f"element runs {offset - end} bytes past its list", offset=end)
        return decoded, offset


class GuardedSequenceOf(_GuardedArrayMixin, der.SequenceOf):
    """SEQUENCE OF that refuses an element of the wrong tag instead of looping."""


class GuardedSetOf(_GuardedArrayMixin, der.SetOf):
    """SET OF that refuses an element of the wrong tag instead of looping."""


def dotted_object_identifier(contents: bytes) -> str:
    """OBJECT IDENTIFIER contents to dotted text.

    asn1tools 0.169 splits the first subidentifier as (n // 40, n % 40) even when n >= 80, so
    2.999.10 (the SGP.26 SM-DP+ OID) decoded as 26.39.10. Arc 2 takes everything from 80 up.
    """
    arcs: list[int] = []
    value = 0
    for byte in contents:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


class GuardedObjectIdentifier(ber.ObjectIdentifier):
    """OBJECT IDENTIFIER with bounded contents and the first-arc fix (only in our compiled specs)."""

    def decode_content(self, data: bytearray, offset: int, length: int) -> tuple[str, int]:
        if length > MAX_OID_CONTENT:
            raise ber.DecodeError(f"OBJECT IDENTIFIER of {length} bytes", offset=offset)
        if length == 0 or data[offset + length - 1] & 0x80:
            raise ber.DecodeError("OBJECT IDENTIFIER ends inside an arc", offset=offset)
        return dotted_object_identifier(bytes(data[offset : offset + length])), offset + length


_SWAPS: dict[type, type] = {
    der.SequenceOf: GuardedSequenceOf,
    der.SetOf: GuardedSetOf,
    ber.ObjectIdentifier: GuardedObjectIdentifier,
}


def guard_spec(spec: Any) -> Any:
    """Guard every SEQUENCE OF, SET OF and OBJECT IDENTIFIER decoder of a compiled DER spec; returns it."""
    seen: set[int] = set()
    # spec.types flattens the modules by name; the modules themselves hold every compiled type
    pending: list[Any] = [compiled._type for types in spec.modules.values() for compiled in types.values()]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        swap = _SWAPS.get(type(node))
        if swap is not None:
            node.__class__ = swap
        for value in vars(node).values():
            _queue_types(value, pending)
    return spec


def _queue_types(value: Any, pending: list[Any]) -> None:
    """Queue the asn1tools type objects held in one attribute (directly, in a list or in a dict)."""
    if isinstance(value, ber.Type):
        pending.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            _queue_types(item, pending)
    elif isinstance(value, dict):
        for item in value.values():
            _queue_types(item, pending)
