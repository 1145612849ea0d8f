"""EC keys for SGP.22: the two curves it allows, generation, point encoding and loading from files.

SGP.22 names its curves by the CI key family: "nist" (P-256) and "brp" (brainpoolP256r1). Everything
here speaks those two names; any other curve is a KeyFormatError.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.crypto.errors import CryptoError, KeyFormatError

CurveName = Literal["nist", "brp"]
PrivateKey = ec.EllipticCurvePrivateKey
PublicKey = ec.EllipticCurvePublicKey

# Both curves are 256-bit: scalars and coordinates are 32 bytes, an uncompressed point 65.
FIELD_SIZE = 32
POINT_SIZE = 1 + 2 * FIELD_SIZE

_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "nist": ec.SECP256R1,
    "brp": ec.BrainpoolP256R1,
}
_NAME_BY_OPENSSL = {"secp256r1": "nist", "brainpoolP256r1": "brp"}

# Group orders; a private scalar must lie in [1, n-1].
_ORDER = {
    "nist": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "brp": 0xA9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7,
}

Rng = Callable[[int], bytes]


def curve_object(curve: str) -> ec.EllipticCurve:
    """The `cryptography` curve for "nist" or "brp"."""
    try:
        return _CURVES[curve]()
    except KeyError:
        raise KeyFormatError(f"unknown curve {curve!r}: use 'nist' or 'brp'") from None


def curve_order(curve: str) -> int:
    curve_object(curve)
    return _ORDER[curve]


def curve_of(key: PrivateKey | PublicKey) -> CurveName:
    """Which SGP.22 curve a key is on ("nist" or "brp")."""
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise KeyFormatError(f"not an EC key: {type(key).__name__}")
    name = _NAME_BY_OPENSSL.get(key.curve.name)
    if name is None:
        raise KeyFormatError(f"unsupported curve {key.curve.name}: SGP.22 uses P-256 or brainpoolP256r1")
    return name  # type: ignore[return-value]


def generate_private_key(curve: str = "nist", *, rng: Rng | None = None) -> PrivateKey:
    """A new private key; `rng(n) -> n bytes` pins the randomness (tests), default the OS CSPRNG."""
    if rng is None:
        return ec.generate_private_key(curve_object(curve))
    order = curve_order(curve)
    # Rejection sampling keeps the scalar uniform; a sane rng needs ~1 try (brainpool ~1.5).
    for _ in range(64):
        scalar = int.from_bytes(rng(FIELD_SIZE), "big")
        if 1 <= scalar < order:
            return private_key_from_scalar(curve, scalar)
    raise CryptoError("the random source gave no valid private scalar in 64 tries")


def private_key_from_scalar(curve: str, scalar: bytes | int) -> PrivateKey:
    """A private key from its secret scalar (32 bytes big-endian, or an int)."""
    value = int.from_bytes(scalar, "big") if isinstance(scalar, bytes) else scalar
    if not 1 <= value < curve_order(curve):
        raise KeyFormatError(f"private scalar out of range for curve {curve}")
    return ec.derive_private_key(value, curve_object(curve))


def private_key_to_scalar(key: PrivateKey) -> bytes:
    """The secret scalar, 32 bytes big-endian."""
    curve_of(key)
    return key.private_numbers().private_value.to_bytes(FIELD_SIZE, "big")


def public_key_to_point(key: PrivateKey | PublicKey) -> bytes:
    """Uncompressed point 04 || X || Y (65 bytes), as SGP.22 carries public keys (e.g. otPK)."""
    curve_of(key)
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def public_key_from_point(curve: str, point: bytes) -> PublicKey:
    """A public key from 04 || X || Y; rejects points not on the curve."""
    if len(point) != POINT_SIZE or point[0] != 0x04:
        raise KeyFormatError(f"public key must be an uncompressed point of {POINT_SIZE} bytes starting 04")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve_object(curve), point)
    except ValueError:
        raise KeyFormatError(f"public key point is not on curve {curve}") from None


def load_private_key_bytes(data: bytes, *, source: str = "private key") -> PrivateKey:
    """Parse a PEM or DER (PKCS#8 or SEC1) EC private key on one of the SGP.22 curves."""
    loader = (
        serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    )
    try:
        key = loader(data, password=None)
    except TypeError:
        raise KeyFormatError(f"{source}: encrypted private keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFormatError(f"{source}: not a readable PEM or DER private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyFormatError(f"{source}: not an EC private key")
    curve_of(key)
    return key


def load_public_key_bytes(data: bytes, *, source: str = "public key") -> PublicKey:
    """Parse a PEM or DER EC public key (SubjectPublicKeyInfo) or take the key of an X.509 certificate."""
    pem = b"-----BEGIN" in data
    key = None
    try:
        if b"CERTIFICATE-----" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        elif pem:
            key = serialization.load_pem_public_key(data)
        else:
            try:
                key = serialization.load_der_public_key(data)
            except ValueError:
                key = x509.load_der_x509_certificate(data).public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFormatError(f"{source}: not a readable PEM or DER public key or certificate") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFormatError(f"{source}: not an EC public key")
    curve_of(key)
    return key


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise KeyFormatError(f"{path}: is a directory, not a key file") from None
    except PermissionError:
        raise KeyFormatError(f"{path}: permission denied") from None


def load_private_key(path: str | os.PathLike[str]) -> PrivateKey:
    """Load an EC private key from a PEM or DER file."""
    return load_private_key_bytes(_read(path), source=str(path))


def load_public_key(path: str | os.PathLike[str]) -> PublicKey:
    """Load an EC public key from a PEM/DER public-key file or certificate."""
    return load_public_key_bytes(_read(path), source=str(path))
