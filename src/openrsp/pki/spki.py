"""The EC point of a certificate's key as the certificate itself carries it.

cryptography hands a key's point out only by exporting the key again (about 14 µs); a parsed
certificate holds the same bytes already, in subjectPublicKeyInfo's BIT STRING. The walk below
follows X.509's fixed field order through DER that cryptography has parsed successfully, so every
field sits where the standard puts it; anything unexpected gives None and the caller exports.
"""

from __future__ import annotations

from openrsp.asn1.tlv import TlvError, read_length

_SEQUENCE = 0x30
_BIT_STRING = 0x03
_VERSION = 0xA0  # [0] EXPLICIT Version, absent for v1
_POINT_SIZE = 65  # 04 || X || Y on a 256-bit curve
# TBSCertificate fields before subjectPublicKeyInfo: serialNumber, signature, issuer, validity, subject
_FIELDS_BEFORE_SPKI = 5


def _header(der: bytes, offset: int, tag: int) -> tuple[int, int]:
    """(value start, value end) of the TLV at offset, which must have this one-byte tag."""
    if offset >= len(der) or der[offset] != tag:
        raise TlvError(f"expected tag {tag:02X} at offset {offset}")
    length, start = read_length(der, offset + 1)
    if start + length > len(der):
        raise TlvError(f"value at offset {offset} runs past the end")
    return start, start + length


def _skip(der: bytes, offset: int) -> int:
    """Offset past the single-byte-tag TLV at offset (X.509 fields here all have one tag byte)."""
    if offset >= len(der) or der[offset] & 0x1F == 0x1F:
        raise TlvError(f"unexpected tag at offset {offset}")
    length, start = read_length(der, offset + 1)
    if start + length > len(der):
        raise TlvError(f"value at offset {offset} runs past the end")
    return start + length


def uncompressed_point(certificate_der: bytes) -> bytes | None:
    """04 || X || Y of the certificate's 256-bit EC key, or None when the certificate carries it in
    another form (compressed) or is not laid out as expected."""
    try:
        tbs_start, end = _header(certificate_der, 0, _SEQUENCE)
        if end != len(certificate_der):
            return None
        offset, _ = _header(certificate_der, tbs_start, _SEQUENCE)
        if offset < len(certificate_der) and certificate_der[offset] == _VERSION:
            offset = _skip(certificate_der, offset)
        for _ in range(_FIELDS_BEFORE_SPKI):
            offset = _skip(certificate_der, offset)
        spki_start, spki_end = _header(certificate_der, offset, _SEQUENCE)
        bits_at = _skip(certificate_der, spki_start)  # past the AlgorithmIdentifier
        bits_start, bits_end = _header(certificate_der, bits_at, _BIT_STRING)
    except TlvError:
        return None
    if bits_end != spki_end or bits_end - bits_start != 1 + _POINT_SIZE:
        return None
    if certificate_der[bits_start] != 0 or certificate_der[bits_start + 1] != 0x04:
        return None  # unused bits, or not the uncompressed form
    return certificate_der[bits_start + 1 : bits_end]
