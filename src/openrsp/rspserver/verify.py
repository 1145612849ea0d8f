"""Who is on the other end: the eUICC's certificate chain and signatures, as authenticateClient and
the later ES9+ calls check them (SGP.22 §5.6.3), each failure mapped to its SGP.22 status code.

EUM chains are verified once and then remembered by fingerprint (pki.verify.ChainVerifier), and
parsed certificates are kept by their DER, so a busy SM-DP+ pays one signature check per new eUICC
certificate and nothing per EUM.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from openrsp.crypto.ecdsa import PublicKey, verify_plain
from openrsp.crypto.keys import curve_of, public_key_from_point, public_key_to_point
from openrsp.pki.spki import uncompressed_point
from openrsp.pki.untrusted import PARSE_ERRORS, CertificateFormatError, parse_certificate
from openrsp.pki.verify import ChainError, ChainVerifier, aki_of
from openrsp.rspserver import status
from openrsp.rspserver.status import StatusCode

_VERIFIER = ChainVerifier(cache_size=1024)


@functools.lru_cache(maxsize=256)
def _parse(der: bytes) -> x509.Certificate:
    return parse_certificate(der)


def load_certificate(der: bytes, invalid: StatusCode) -> x509.Certificate:
    """The certificate, every part the chain checks read already parsed: cryptography parses
    extensions and the key only when asked, and a malformed one must be this status code here,
    not an exception deep inside the chain check."""
    try:
        return _parse(der)
    except CertificateFormatError:
        raise invalid.error("not a DER X.509 certificate") from None


@dataclass(frozen=True)
class AuthenticatedEuicc:
    eid: str
    public_key: PublicKey
    curve: str
    public_point: bytes  # PK.EUICC.ECDSA, uncompressed: what the RSP session keeps for later checks


def _status_for(error: ChainError) -> StatusCode:
    if error.role == "eum":
        if error.rule == "unknown-issuer":
            return status.UNKNOWN_CI_KEY
        return status.EXPIRED_EUM_CERT if error.rule == "expired" else status.INVALID_EUM_CERT
    if error.role == "ci":
        return status.UNKNOWN_CI_KEY
    if error.rule == "eid-range":
        return status.EID_OUT_OF_RANGE
    return status.EXPIRED_EUICC_CERT if error.rule == "expired" else status.INVALID_EUICC_CERT


@dataclass(frozen=True)
class _Verified:
    euicc: AuthenticatedEuicc
    not_before: datetime  # the window in which every certificate of the chain is valid
    not_after: datetime


_VERIFIED: OrderedDict[tuple[bytes, bytes, bytes], _Verified] = OrderedDict()
_VERIFIED_MAX = 4096
_LOCK = threading.Lock()


def verify_euicc_chain(
    euicc_der: bytes, eum_der: bytes, ci: x509.Certificate, ci_pkid: bytes, at: datetime
) -> AuthenticatedEuicc:
    """CERT.EUICC → CERT.EUM → the CI the session chose (euiccCiPKIdToBeUsed), valid at `at`,
    with the EID inside the EUM's permitted range.

    A chain that passed is remembered (by its exact bytes): only the validity window depends on
    time, so the next session of the same eUICC costs a lookup, not two signature checks.
    """
    key = (euicc_der, eum_der, ci_pkid)
    with _LOCK:
        hit = _VERIFIED.get(key)
    if hit is not None and hit.not_before <= at <= hit.not_after:
        return hit.euicc
    verified = _verify(euicc_der, eum_der, ci, ci_pkid, at)
    with _LOCK:
        _VERIFIED[key] = verified
        while len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)
    return verified.euicc


def _verify(
    euicc_der: bytes, eum_der: bytes, ci: x509.Certificate, ci_pkid: bytes, at: datetime
) -> _Verified:
    try:
        return _verify_parsed(euicc_der, eum_der, ci, ci_pkid, at)
    except PARSE_ERRORS as exc:
        # cryptography parses names and keys lazily: a malformed one fails only here
        raise status.INVALID_EUICC_CERT.error(f"malformed certificate in the eUICC chain: {exc}") from None


def _verify_parsed(
    euicc_der: bytes, eum_der: bytes, ci: x509.Certificate, ci_pkid: bytes, at: datetime
) -> _Verified:
    eum = load_certificate(eum_der, status.INVALID_EUM_CERT)
    euicc = load_certificate(euicc_der, status.INVALID_EUICC_CERT)
    if aki_of(eum) != ci_pkid:
        # SGP.22: the chain's root must be the CI named in euiccCiPKIdToBeUsed.
        raise status.UNKNOWN_CI_KEY.error(
            "the EUM certificate is not issued by the CI chosen for this session"
        )
    try:
        chain = _VERIFIER.verify(euicc, [ci], [eum], role="euicc", at=at)
    except ChainError as exc:
        raise _status_for(exc).error(exc.message) from None
    assert chain.eid is not None  # an eUICC chain passed its EID rule
    public_key = euicc.public_key()
    assert isinstance(public_key, PublicKey)  # the chain rules accept EC keys only
    curve = curve_of(public_key)
    # the certificate's own bytes of the point, when uncompressed (exporting the key costs more)
    point = uncompressed_point(euicc_der) or public_key_to_point(public_key)
    _keep_public_key(curve, point, public_key)  # the session's later calls look it up by this point
    return _Verified(
        AuthenticatedEuicc(eid=chain.eid, public_key=public_key, curve=curve, public_point=point),
        chain.valid_from,
        chain.valid_until,
    )


def verify_signature(public_key: PublicKey, data: bytes, signature: bytes, what: str) -> None:
    """The eUICC's signature over data, or 8.1/6.1."""
    if not verify_plain(public_key, data, signature):
        raise status.INVALID_EUICC_SIGNATURE.error(f"{what} does not verify")


_PUBLIC_KEYS: OrderedDict[tuple[str, bytes], PublicKey] = OrderedDict()
_PUBLIC_KEYS_MAX = 1024


def _keep_public_key(curve: str, point: bytes, public_key: PublicKey) -> None:
    with _LOCK:
        _PUBLIC_KEYS[(curve, point)] = public_key
        while len(_PUBLIC_KEYS) > _PUBLIC_KEYS_MAX:
            _PUBLIC_KEYS.popitem(last=False)


def public_key_for(curve: str, point: bytes) -> PublicKey:
    """PK.EUICC.ECDSA back from the point an RSP session stored: the key authenticateClient took
    from the certificate when this process verified it, else parsed (and kept) once."""
    with _LOCK:
        hit = _PUBLIC_KEYS.get((curve, point))
    if hit is not None:
        return hit
    public_key = public_key_from_point(curve, point)
    _keep_public_key(curve, point, public_key)
    return public_key
