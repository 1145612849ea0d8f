"""ECDSA with SHA-256 in the TR-03111 plain form (r || s, 32 bytes each) that SGP.22 puts in 5F37.

X.509 and TLS carry the same signatures DER-encoded (SEQUENCE { r INTEGER, s INTEGER }); the two
converters here bridge the forms. Key handling lives in keys.py and is re-exported for convenience.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from openrsp.crypto.errors import SignatureFormatError
from openrsp.crypto.keys import (
    FIELD_SIZE,
    CurveName,
    PrivateKey,
    PublicKey,
    curve_of,
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_from_scalar,
    private_key_to_scalar,
    public_key_from_point,
    public_key_to_point,
)

__all__ = [
    "PLAIN_SIGNATURE_SIZE",
    "CurveName",
    "PrivateKey",
    "PublicKey",
    "curve_of",
    "der_to_plain",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "plain_to_der",
    "private_key_from_scalar",
    "private_key_to_scalar",
    "public_key_from_point",
    "public_key_to_point",
    "sign_plain",
    "verify_plain",
]

PLAIN_SIGNATURE_SIZE = 2 * FIELD_SIZE
# The algorithm object holds no state: built once, not per signature. (The deterministic one is
# built when asked: OpenSSL before 3.2 refuses it.)
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def plain_to_der(signature: bytes) -> bytes:
    """r || s (64 bytes) -> DER ECDSA-Sig-Value."""
    if len(signature) != PLAIN_SIGNATURE_SIZE:
        raise SignatureFormatError(
            f"plain signature must be {PLAIN_SIGNATURE_SIZE} bytes (r || s), got {len(signature)}"
        )
    r = int.from_bytes(signature[:FIELD_SIZE], "big")
    s = int.from_bytes(signature[FIELD_SIZE:], "big")
    return encode_dss_signature(r, s)


def der_to_plain(signature: bytes) -> bytes:
    """DER ECDSA-Sig-Value -> r || s (64 bytes)."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise SignatureFormatError("not a DER ECDSA signature (SEQUENCE of two INTEGERs)") from None
    limit = 1 << (8 * FIELD_SIZE)
    if not (0 < r < limit and 0 < s < limit):
        raise SignatureFormatError("DER signature values r, s do not fit a 256-bit curve")
    return r.to_bytes(FIELD_SIZE, "big") + s.to_bytes(FIELD_SIZE, "big")


def sign_plain(private_key: PrivateKey, data: bytes, *, deterministic: bool = False) -> bytes:
    """ECDSA-SHA256 over `data`, as r || s. `deterministic` uses RFC 6979 nonces (reproducible output)."""
    curve_of(private_key)
    algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=True) if deterministic else _ECDSA_SHA256
    der = private_key.sign(data, algorithm)
    return der_to_plain(der)


def verify_plain(public_key: PublicKey, data: bytes, signature: bytes) -> bool:
    """True when `signature` (r || s) is a valid ECDSA-SHA256 signature of `data` by `public_key`.

    Any signature that is not exactly that, malformed ones included, gives False: the caller's
    answer is the same ("invalid signature") whatever the reason.
    """
    curve_of(public_key)
    if len(signature) != PLAIN_SIGNATURE_SIZE:
        return False
    try:
        public_key.verify(plain_to_der(signature), data, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True
