"""ECKA (BSI TR-03111 EC key agreement) as SGP.22 uses it for the bound profile package.

The eUICC and the SM-DP+ each make a one-time key pair (otSK/otPK.EUICC.ECKA, otSK/otPK.DP.ECKA),
swap the public points, and both compute the same shared secret: the x-coordinate of otSK * otPK.
"""

from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.crypto.errors import CurveMismatchError
from openrsp.crypto.keys import (
    PrivateKey,
    PublicKey,
    Rng,
    curve_of,
    generate_private_key,
    public_key_from_point,
)


def generate_one_time_key(curve: str = "nist", *, rng: Rng | None = None) -> PrivateKey:
    """A one-time ECKA key pair (use it for one session, then drop it)."""
    return generate_private_key(curve, rng=rng)


def shared_secret(private_key: PrivateKey, peer_public: PublicKey | bytes) -> bytes:
    """The ECKA shared secret (32-byte x-coordinate) with the peer's key or its 04||X||Y point."""
    curve = curve_of(private_key)
    if isinstance(peer_public, bytes):
        peer_public = public_key_from_point(curve, peer_public)
    elif curve_of(peer_public) != curve:
        raise CurveMismatchError(f"ECKA needs both keys on one curve: {curve} vs {curve_of(peer_public)}")
    # cryptography's ECDH returns exactly the x-coordinate, fixed-length: TR-03111's ECKA-DH output.
    return private_key.exchange(ec.ECDH(), peer_public)
