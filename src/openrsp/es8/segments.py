"""The shape of a bound profile package (BF36), shared by the SM-DP+, the LPA and the eUICC.

Nothing here is secret or stateful: it knows which TLVs a BPP is made of, how the LPA cuts it into
LoadBoundProfilePackage calls (SGP.22 v2 §2.5.5, our sgp22-essentials.md §5), and which bytes the
SM-DP+ signs in InitialiseSecureChannel (smdpSign), so that the builder and the verifier cannot drift
apart.

BF36 {
  BF23 InitialiseSecureChannelRequest { 82 remoteOpId, 80 transactionId,
                                        A6 { 80 keyType, 81 keyLen, 84 hostId }, 5F49 smdpOtpk, 5F37 smdpSign }
  A0 { 87 ConfigureISDP }                 firstSequenceOf87
  A1 { 88 StoreMetadata, ... }            sequenceOf88
  A2 { 87 ReplaceSessionKeys }            secondSequenceOf87 (optional)
  A3 { 86 profile segment, ... }          sequenceOf86
}
"""

from __future__ import annotations

from dataclasses import dataclass

from openrsp.asn1.tlv import TlvError, encode_tlv, iter_tlvs, read_tlv
from openrsp.errors import OpenRSPError

TAG_BPP = 0xBF36
TAG_INITIALISE_SECURE_CHANNEL = 0xBF23
TAG_FIRST_SEQUENCE_OF_87 = 0xA0
TAG_SEQUENCE_OF_88 = 0xA1
TAG_SECOND_SEQUENCE_OF_87 = 0xA2
TAG_SEQUENCE_OF_86 = 0xA3

TAG_REMOTE_OP_ID = 0x82
TAG_TRANSACTION_ID = 0x80
TAG_CONTROL_REF_TEMPLATE = 0xA6
TAG_KEY_TYPE = 0x80
TAG_KEY_LENGTH = 0x81
TAG_HOST_ID = 0x84
TAG_OTPK = 0x5F49
TAG_SIGNATURE = 0x5F37

REMOTE_OP_INSTALL_BPP = 1  # RemoteOpId installBoundProfilePackage


class BppFormatError(OpenRSPError):
    """Bytes that are not a bound profile package of the SGP.22 shape."""


@dataclass(frozen=True)
class InitialiseSecureChannel:
    """The fields of BF23, plus the exact bytes smdpSign covers (before the eUICC's otPK is appended)."""

    remote_op_id: int
    transaction_id: bytes
    key_type: int
    key_length: int
    host_id: bytes
    smdp_otpk: bytes
    smdp_sign: bytes
    signed_objects: bytes  # the data objects before smdpSign, tags and lengths included


@dataclass(frozen=True)
class BppParts:
    """A BPP split into its TLVs (each the full raw TLV bytes)."""

    initialise_secure_channel: bytes
    configure_isdp: list[bytes]  # 87 TLVs inside A0
    store_metadata: list[bytes]  # 88 TLVs inside A1
    replace_session_keys: list[bytes] | None  # 87 TLVs inside A2, when present
    profile_segments: list[bytes]  # 86 TLVs inside A3


def smdp_sign_input(signed_objects: bytes, euicc_otpk: bytes) -> bytes:
    """What smdpSign is computed over: BF23's data objects before smdpSign, then 5F49 otPK.EUICC.

    The objects are remoteOpId, transactionId, controlRefTemplate and smdpOtpk, each with its tag and
    length. pySim's SM-DP+ (which installs on commercial eUICCs) appends the eUICC's one-time key as a
    5F49 TLV, binding the signature to this eUICC's key agreement; we do the same on both sides.
    """
    return signed_objects + encode_tlv(TAG_OTPK, euicc_otpk)


def encode_isc_signed_objects(
    transaction_id: bytes, host_id: bytes, smdp_otpk: bytes, *, key_type: int = 0x88, key_length: int = 16
) -> bytes:
    """The BF23 data objects that smdpSign covers, in order."""
    crt = (
        encode_tlv(TAG_KEY_TYPE, bytes([key_type]))
        + encode_tlv(TAG_KEY_LENGTH, bytes([key_length]))
        + encode_tlv(TAG_HOST_ID, host_id)
    )
    return (
        encode_tlv(TAG_REMOTE_OP_ID, bytes([REMOTE_OP_INSTALL_BPP]))
        + encode_tlv(TAG_TRANSACTION_ID, transaction_id)
        + encode_tlv(TAG_CONTROL_REF_TEMPLATE, crt)
        + encode_tlv(TAG_OTPK, smdp_otpk)
    )


def encode_initialise_secure_channel(signed_objects: bytes, smdp_sign: bytes) -> bytes:
    return encode_tlv(TAG_INITIALISE_SECURE_CHANNEL, signed_objects + encode_tlv(TAG_SIGNATURE, smdp_sign))


def parse_initialise_secure_channel(tlv: bytes) -> InitialiseSecureChannel:
    """Decode one BF23 TLV (strict order, as SGP.22 defines it)."""
    try:
        outer = read_tlv(tlv)
        if outer.tag != TAG_INITIALISE_SECURE_CHANNEL or outer.end != len(tlv):
            raise BppFormatError("expected one InitialiseSecureChannelRequest (BF23) TLV")
        fields = list(iter_tlvs(outer.value))
        tags = [f.tag for f in fields]
        if tags != [TAG_REMOTE_OP_ID, TAG_TRANSACTION_ID, TAG_CONTROL_REF_TEMPLATE, TAG_OTPK, TAG_SIGNATURE]:
            raise BppFormatError("BF23 must hold 82, 80, A6, 5F49 and 5F37 in this order")
        remote_op, transaction, crt, otpk, sign = fields
        crt_fields = {f.tag: f.value for f in iter_tlvs(crt.value)}
    except TlvError as exc:
        raise BppFormatError(f"malformed InitialiseSecureChannelRequest: {exc}") from None
    if set(crt_fields) != {TAG_KEY_TYPE, TAG_KEY_LENGTH, TAG_HOST_ID}:
        raise BppFormatError("controlRefTemplate must hold keyType 80, keyLength 81 and hostId 84")
    if len(crt_fields[TAG_KEY_TYPE]) != 1 or len(crt_fields[TAG_KEY_LENGTH]) != 1:
        raise BppFormatError("controlRefTemplate keyType and keyLength are one byte each")
    if len(remote_op.value) != 1:
        raise BppFormatError("remoteOpId must be one byte")
    signed_end = len(outer.raw) - len(sign.raw)
    return InitialiseSecureChannel(
        remote_op_id=remote_op.value[0],
        transaction_id=transaction.value,
        key_type=crt_fields[TAG_KEY_TYPE][0],
        key_length=crt_fields[TAG_KEY_LENGTH][0],
        host_id=crt_fields[TAG_HOST_ID],
        smdp_otpk=otpk.value,
        smdp_sign=sign.value,
        signed_objects=outer.raw[outer.header_len : signed_end],
    )


def encode_bpp(parts: BppParts) -> bytes:
    """BF36 from its parts (the parts are already protected TLVs)."""
    body = parts.initialise_secure_channel
    body += encode_tlv(TAG_FIRST_SEQUENCE_OF_87, b"".join(parts.configure_isdp))
    body += encode_tlv(TAG_SEQUENCE_OF_88, b"".join(parts.store_metadata))
    if parts.replace_session_keys is not None:
        body += encode_tlv(TAG_SECOND_SEQUENCE_OF_87, b"".join(parts.replace_session_keys))
    body += encode_tlv(TAG_SEQUENCE_OF_86, b"".join(parts.profile_segments))
    return encode_tlv(TAG_BPP, body)


def _children(value: bytes, tag: int, name: str) -> list[bytes]:
    items = []
    for tlv in iter_tlvs(value):
        if tlv.tag != tag:
            raise BppFormatError(f"{name} holds a {tlv.tag:X} TLV, expected {tag:X}")
        items.append(tlv.raw)
    return items


def split_bpp(bpp: bytes) -> BppParts:
    """The TLVs of a BF36, checked for the SGP.22 order; raises BppFormatError otherwise."""
    try:
        outer = read_tlv(bpp)
        if outer.tag != TAG_BPP:
            raise BppFormatError(f"expected BoundProfilePackage (BF36), got tag {outer.tag:X}")
        if outer.end != len(bpp):
            raise BppFormatError("trailing bytes after the BoundProfilePackage")
        items = list(iter_tlvs(outer.value))
        tags = [t.tag for t in items]
        expected = [TAG_INITIALISE_SECURE_CHANNEL, TAG_FIRST_SEQUENCE_OF_87, TAG_SEQUENCE_OF_88]
        if tags[:3] != expected or tags[3:] not in (
            [TAG_SEQUENCE_OF_86],
            [TAG_SECOND_SEQUENCE_OF_87, TAG_SEQUENCE_OF_86],
        ):
            raise BppFormatError("BF36 must hold BF23, A0, A1, optionally A2, then A3")
        second = items[3] if len(items) == 5 else None
        return BppParts(
            initialise_secure_channel=items[0].raw,
            configure_isdp=_children(items[1].value, 0x87, "firstSequenceOf87"),
            store_metadata=_children(items[2].value, 0x88, "sequenceOf88"),
            replace_session_keys=_children(second.value, 0x87, "secondSequenceOf87") if second else None,
            profile_segments=_children(items[-1].value, 0x86, "sequenceOf86"),
        )
    except TlvError as exc:
        raise BppFormatError(f"malformed BoundProfilePackage: {exc}") from None


def _header(tlv_raw: bytes) -> bytes:
    return tlv_raw[: read_tlv(tlv_raw).header_len]


def segments_for_lpa(bpp: bytes) -> list[bytes]:
    """The LoadBoundProfilePackage payloads, in the order and cut SGP.22 prescribes:

    1. BF36 tag and length with the whole BF23; 2. the whole A0; 3. the A1 tag and length;
    4. each 88; 5. the whole A2, if present; 6. the A3 tag and length; 7. each 86.
    """
    outer = _header(bpp)
    parts = split_bpp(bpp)
    raw = read_tlv(bpp).value
    items = {t.tag: t.raw for t in iter_tlvs(raw)}
    segments = [outer + parts.initialise_secure_channel, items[TAG_FIRST_SEQUENCE_OF_87]]
    segments.append(_header(items[TAG_SEQUENCE_OF_88]))
    segments.extend(parts.store_metadata)
    if TAG_SECOND_SEQUENCE_OF_87 in items:
        segments.append(items[TAG_SECOND_SEQUENCE_OF_87])
    segments.append(_header(items[TAG_SEQUENCE_OF_86]))
    segments.extend(parts.profile_segments)
    return segments
