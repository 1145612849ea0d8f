"""Who signs: a private key in memory (read from a file) or one that never leaves a token (PKCS#11).

The SM-DP+ signs serverSigned1 (DPauth) and smdpSigned2 / InitialiseSecureChannel (DPpb) through
this interface only, so where its keys live is a configuration choice, not a code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.crypto.ecdsa import sign_plain
from openrsp.crypto.keys import CurveName, PrivateKey, PublicKey, curve_of


@runtime_checkable
class Signer(Protocol):
    """ECDSA-SHA256 in the plain r || s form SGP.22 carries (TR-03111), on one SGP.22 curve."""

    @property
    def curve(self) -> CurveName: ...

    def public_key(self) -> PublicKey: ...

    def sign_plain(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """A private key held in memory (the file implementation)."""

    key: PrivateKey

    @property
    def curve(self) -> CurveName:
        return curve_of(self.key)

    def public_key(self) -> PublicKey:
        return self.key.public_key()

    def sign_plain(self, data: bytes) -> bytes:
        return sign_plain(self.key, data)


def as_signer(key: PrivateKey | Signer) -> Signer:
    """A Signer for a private key or a signer (passed through)."""
    # The usual cases first: isinstance against a runtime-checkable Protocol inspects the class's
    # members on every call (about 8 µs), a concrete class check costs nothing.
    if isinstance(key, KeySigner):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return KeySigner(key)
    if isinstance(key, Signer):
        return key
    return KeySigner(key)
