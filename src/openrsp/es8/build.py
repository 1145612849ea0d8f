"""ES8+ on the SM-DP+ side: bind a profile package to one eUICC session (SGP.22 §2.5.4, §5.5).

Sans-I/O: the caller passes what the RSP session established (transactionId, the eUICC's one-time
key from PrepareDownload, the EID, the DPpb signing key) and the profile; out comes the BF36 bytes.
The SM-DP+'s own one-time key and the profile protection keys are parameters, so a retry can rebuild
an equivalent package and tests can pin every byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.ecdsa import PrivateKey, PublicKey, public_key_to_point
from openrsp.crypto.ecka import generate_one_time_key, shared_secret
from openrsp.crypto.kdf import SessionKeys, derive_session_keys
from openrsp.crypto.signer import Signer, as_signer
from openrsp.errors import InputError
from openrsp.es8.bsp import TAG_ENCRYPTED, TAG_MAC_ONLY, BspSender
from openrsp.es8.segments import (
    BppParts,
    encode_bpp,
    encode_initialise_secure_channel,
    encode_isc_signed_objects,
    smdp_sign_input,
)

DEFAULT_HOST_ID = b"openrsp"  # any 1..16 bytes; it only enters the key derivation
CONFIGURE_ISDP_EMPTY = bytes.fromhex("BF2400")


@dataclass(frozen=True)
class BoundProfilePackage:
    """The BF36 bytes and what the SM-DP+ may want to keep about them."""

    der: bytes
    smdp_otpk: bytes  # otPK.DP.ECKA, uncompressed point
    session_keys: SessionKeys


def encode_configure_isdp(dp_oid_der: bytes | None = None) -> bytes:
    """ConfigureISDPRequest BF24, empty or with dpProprietaryData B8 { 06 dpOid } (OID as DER TLV)."""
    if dp_oid_der is None:
        return CONFIGURE_ISDP_EMPTY
    return encode_tlv(0xBF24, encode_tlv(0xB8, dp_oid_der))


def initialise_secure_channel(
    *,
    transaction_id: bytes,
    host_id: bytes,
    smdp_otpk: bytes,
    euicc_otpk: bytes,
    dppb_key: PrivateKey | Signer,
) -> bytes:
    """InitialiseSecureChannelRequest (BF23) signed with SK.DPpb.ECDSA (a key or a token's signer)."""
    signed = encode_isc_signed_objects(transaction_id, host_id, smdp_otpk)
    signature = as_signer(dppb_key).sign_plain(smdp_sign_input(signed, euicc_otpk))
    return encode_initialise_secure_channel(signed, signature)


def build_bound_profile_package(
    *,
    transaction_id: bytes,
    eid: bytes,
    euicc_otpk: bytes,
    dppb_key: PrivateKey | Signer,
    profile_package: bytes,
    store_metadata: bytes,
    host_id: bytes = DEFAULT_HOST_ID,
    smdp_ot_key: PrivateKey | None = None,
    ppk: SessionKeys | None = None,
    configure_isdp: bytes = CONFIGURE_ISDP_EMPTY,
    protected_profile: bytes | None = None,
    euicc_ot_key: PublicKey | None = None,
) -> BoundProfilePackage:
    """The whole BF36 for one session.

    - transaction_id, eid (16 bytes), euicc_otpk (04||X||Y from euiccSigned2): from the session;
    - dppb_key: SK.DPpb.ECDSA; the one-time keys use its curve;
    - profile_package: the SAIP DER (unprotected profile package);
    - store_metadata: StoreMetadataRequest DER (BF25), split over several 88 TLVs when long;
    - smdp_ot_key: otSK.DP.ECKA, generated when absent (pass the same one to rebuild on retry);
    - ppk: profile protection keys; when given, a ReplaceSessionKeys (A2) precedes the profile and
      the profile segments are protected with them instead of the session keys;
    - protected_profile: the profile's tag-86 segments already protected under ppk, one after the
      other (prepared once: they do not depend on the session); profile_package is then not
      protected again;
    - euicc_ot_key: euicc_otpk already parsed into a key (the caller checked the point), so it is
      not parsed again.
    """
    if len(eid) != 16:
        raise InputError(f"EID must be 16 bytes, got {len(eid)}")
    if not 1 <= len(transaction_id) <= 16:
        raise InputError("transactionId must be 1 to 16 bytes")
    signer = as_signer(dppb_key)
    curve = signer.curve
    ot_key = smdp_ot_key if smdp_ot_key is not None else generate_one_time_key(curve)
    smdp_otpk = public_key_to_point(ot_key)
    peer = euicc_ot_key if euicc_ot_key is not None else euicc_otpk
    keys = derive_session_keys(shared_secret(ot_key, peer), host_id, eid)

    isc = initialise_secure_channel(
        transaction_id=transaction_id,
        host_id=host_id,
        smdp_otpk=smdp_otpk,
        euicc_otpk=euicc_otpk,
        dppb_key=signer,
    )
    sender = BspSender(keys)
    configure = [sender.protect(TAG_ENCRYPTED, configure_isdp)]
    metadata = sender.protect_segments(TAG_MAC_ONLY, store_metadata)
    replace = [sender.replace_session_keys(ppk)] if ppk is not None else None
    if protected_profile is not None:
        if ppk is None:
            raise InputError("protected profile segments come with the PPK that protects them")
        segments = [protected_profile]  # BF36 carries the 86 TLVs back to back: no need to split them
    else:
        segments = sender.protect_profile(profile_package)
    der = encode_bpp(
        BppParts(
            initialise_secure_channel=isc,
            configure_isdp=configure,
            store_metadata=metadata,
            replace_session_keys=replace,
            profile_segments=segments,
        )
    )
    return BoundProfilePackage(der=der, smdp_otpk=smdp_otpk, session_keys=keys)
