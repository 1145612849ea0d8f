"""Which of the SM-DP+'s CI sets serves an eUICC, and each set's constant bytes, prepared once.

The DPauth/DPpb certificates go out DER-encoded in every session; encoding them (and the
euiccCiPKIdToBeUsed TLV) once per process keeps that work off the request path.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.signer import Signer, as_signer
from openrsp.rspserver import status

TAG_OCTET_STRING = 0x04


@dataclass(frozen=True)
class SigningSet:
    """One CI's DPauth + DPpb credentials, ready to use."""

    ci_pkid: bytes
    ci_cert: x509.Certificate
    curve: str
    dpauth_key: Signer  # SK.DPauth.ECDSA: in memory or in a PKCS#11 token
    dpauth_der: bytes
    dppb_key: Signer  # SK.DPpb.ECDSA
    dppb_der: bytes

    @property
    def ci_pkid_tlv(self) -> bytes:
        """euiccCiPKIdToBeUsed as ES9+ carries it: the SubjectKeyIdentifier OCTET STRING TLV."""
        return encode_tlv(TAG_OCTET_STRING, self.ci_pkid)

    # What ES9+ answers carry in base64 every session, encoded once (a set never changes).
    @functools.cached_property
    def ci_pkid_tlv_b64(self) -> str:
        return _b64(self.ci_pkid_tlv)

    @functools.cached_property
    def dpauth_b64(self) -> str:
        return _b64(self.dpauth_der)

    @functools.cached_property
    def dppb_b64(self) -> str:
        return _b64(self.dppb_der)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _prepare(ci_set: Any) -> SigningSet:
    dppb = as_signer(ci_set.dppb_key)
    return SigningSet(
        ci_pkid=ci_set.ci_pkid,
        ci_cert=ci_set.ci_cert,
        curve=dppb.curve,
        dpauth_key=as_signer(ci_set.dpauth_key),
        dpauth_der=ci_set.dpauth_cert.public_bytes(Encoding.DER),
        dppb_key=dppb,
        dppb_der=ci_set.dppb_cert.public_bytes(Encoding.DER),
    )


# Prepared sets by credentials object: every ES9+ call asks, and the credentials of a process do
# not change (hashing the sets' certificates and keys to look them up would cost more than that).
_PREPARED: dict[int, tuple[Any, list[SigningSet]]] = {}


def signing_sets(credentials: Any) -> list[SigningSet]:
    """Every CI set of the SM-DP+ credentials (openrsp.pki.credentials.SmdpCredentials)."""
    if credentials is None:
        raise status.UNSUPPORTED_PKID.error("this SM-DP+ has no DPauth/DPpb credentials configured")
    entry = _PREPARED.get(id(credentials))
    if entry is None or entry[0] is not credentials:
        if len(_PREPARED) > 64:  # tests load many; a server, one
            _PREPARED.clear()
        entry = _PREPARED[id(credentials)] = (credentials, [_prepare(ci_set) for ci_set in credentials.sets])
    return entry[1]


def set_for_pkid(credentials: Any, pkid: bytes) -> SigningSet:
    for candidate in signing_sets(credentials):
        if candidate.ci_pkid == pkid:
            return candidate
    # The credentials changed under a live session (restart with other keys): it cannot go on.
    raise status.UNKNOWN_TRANSACTION.error("the session's CI is no longer configured")


def choose_set(credentials: Any, for_verification: list[bytes], for_signing: list[bytes]) -> SigningSet:
    """The set for this eUICC (SGP.22 §5.6.1): a CI the eUICC can sign with (its own certificate
    chain) and that verifies our DPauth; preferring one CI for both, as the eUICC's PKID lists allow.
    """
    ours = {s.ci_pkid: s for s in signing_sets(credentials)}
    signable = [ours[pkid] for pkid in for_signing if pkid in ours]  # in the eUICC's order
    if not signable:
        raise status.UNSUPPORTED_PKID.error()
    verifiable = [s for s in signable if s.ci_pkid in for_verification]
    if not verifiable:
        raise status.NO_DPAUTH_FOR_CI.error()
    return verifiable[0]
