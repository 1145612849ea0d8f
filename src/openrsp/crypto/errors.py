"""Typed failures of the crypto layer, so callers can map them to SGP.22 / 3GPP result codes."""

from openrsp.errors import InputError, OpenRSPError


class CryptoError(OpenRSPError):
    """Base of every error openrsp.crypto raises on purpose."""


class KeyFormatError(CryptoError, InputError):
    """A key (file, bytes or point) is unreadable, not EC, or on a curve SGP.22 does not use."""


class SignatureFormatError(CryptoError, InputError):
    """A signature is not a well-formed plain (r||s) or DER ECDSA signature."""


class CurveMismatchError(CryptoError):
    """Two keys that must share a curve (ECKA) do not."""


class BspError(CryptoError):
    """A bound-profile-package segment could not be protected or unprotected."""


class BspStructureError(BspError):
    """A segment is malformed: unknown tag, bad length, bad padding, too large (scp03tStructureError)."""


class BspMacError(BspError):
    """A segment's C-MAC does not verify (scp03tSecurityError)."""


class AkaMacError(CryptoError):
    """MAC-A in AUTN (card side) or MAC-S in AUTS (network side) does not verify."""
