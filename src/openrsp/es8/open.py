"""ES8+ on the eUICC side: open a bound profile package's secure channel and unprotect its sequences.

Sans-I/O and stateless apart from the BspReceiver it hands back. What the eUICC then does with the
plaintext (ISD-P, metadata policy, the profile) is the eUICC's business (euicc/install.py). Failures
are `SecureChannelError` carrying the SGP.22 errorReason the installation result reports.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.asn1.rsp_types import ErrorReason
from openrsp.asn1.tlv import Tlv, TlvError, iter_tlvs
from openrsp.crypto.ecdsa import PrivateKey, public_key_to_point, verify_plain
from openrsp.crypto.ecka import shared_secret
from openrsp.crypto.errors import BspStructureError, CryptoError
from openrsp.crypto.kdf import KEY_LENGTH, KEY_TYPE_AES, derive_session_keys
from openrsp.errors import OpenRSPError
from openrsp.es8.bsp import MAX_RECEIVED_SEGMENT_SIZE, MAX_SEGMENT_SIZE, TAG_ENCRYPTED, BspReceiver
from openrsp.es8.segments import (
    REMOTE_OP_INSTALL_BPP,
    BppFormatError,
    parse_initialise_secure_channel,
    smdp_sign_input,
)


class SecureChannelError(OpenRSPError):
    """InitialiseSecureChannel refused; `reason` is the ErrorReason for ProfileInstallationResult."""

    def __init__(self, reason: int, message: str = "") -> None:
        super().__init__(message or ErrorReason(reason).name)
        self.reason = reason
        self.detail = message


def open_secure_channel(
    isc_raw: bytes,
    *,
    transaction_id: bytes,
    dppb_key: ec.EllipticCurvePublicKey,
    one_time_key: PrivateKey,
    eid: bytes,
    strict: bool,
) -> BspReceiver:
    """Check InitialiseSecureChannel (BF23) against the session and derive the BSP session keys.

    `strict` holds the SM-DP+ to SGP.22's 1020-byte segments; otherwise what real eUICCs take.
    """
    try:
        isc = parse_initialise_secure_channel(isc_raw)
    except BppFormatError as exc:
        raise SecureChannelError(ErrorReason.incorrectInputValues, str(exc)) from None
    if isc.remote_op_id != REMOTE_OP_INSTALL_BPP:
        raise SecureChannelError(ErrorReason.unsupportedRemoteOperationType)
    if isc.transaction_id != transaction_id:
        raise SecureChannelError(ErrorReason.invalidTransactionId)
    if isc.key_type != KEY_TYPE_AES or isc.key_length != KEY_LENGTH:
        raise SecureChannelError(ErrorReason.unsupportedCrtValues)
    signed = smdp_sign_input(isc.signed_objects, public_key_to_point(one_time_key))
    if not verify_plain(dppb_key, signed, isc.smdp_sign):
        raise SecureChannelError(ErrorReason.invalidSignature)
    try:
        secret = shared_secret(one_time_key, isc.smdp_otpk)
        keys = derive_session_keys(secret, isc.host_id, eid)
    except (CryptoError, OpenRSPError) as exc:
        raise SecureChannelError(ErrorReason.incorrectInputValues, str(exc)) from None
    return BspReceiver(keys, max_segment_size=MAX_SEGMENT_SIZE if strict else MAX_RECEIVED_SEGMENT_SIZE)


def unprotect_sequence(receiver: BspReceiver, tlv: Tlv, tag: int) -> bytes:
    """The plaintext of a whole sequence (A0 of 87s): every child must be a `tag` segment."""
    try:
        children = list(iter_tlvs(tlv.value))
    except TlvError as exc:
        raise BspStructureError(str(exc)) from None
    if not children or any(child.tag != tag for child in children):
        raise BspStructureError(f"sequence must hold {tag:02X} segments")
    return b"".join(receiver.unprotect(child.raw) for child in children)


def accept_second_sequence(receiver: BspReceiver, tlv: Tlv) -> None:
    """secondSequenceOf87 (A2): one ReplaceSessionKeys segment; the receiver switches to the PPK."""
    try:
        children = list(iter_tlvs(tlv.value))
    except TlvError as exc:
        raise BspStructureError(str(exc)) from None
    if len(children) != 1 or children[0].tag != TAG_ENCRYPTED:
        raise BspStructureError("secondSequenceOf87 must hold one ReplaceSessionKeys segment")
    receiver.accept_replace_session_keys(children[0].raw)
