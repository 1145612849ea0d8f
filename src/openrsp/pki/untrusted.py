"""Reading a certificate that came from a peer: all of it parsed at once, or one typed error.

cryptography parses a certificate's extensions, names and key lazily, so a malformed part would
only fail later, wherever it is first read, and as one of several exception types (ValueError,
InvalidVersion, DuplicateExtension, UnsupportedAlgorithm, ...). Here names, extensions, signature algorithm and key are read up front and every failure
becomes CertificateFormatError.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from openrsp.errors import OpenRSPError

PARSE_ERRORS = (
    ValueError,
    TypeError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    UnsupportedAlgorithm,
)


class CertificateFormatError(OpenRSPError):
    """Bytes that are not a well-formed DER X.509 certificate."""


def parse_certificate(der: bytes) -> x509.Certificate:
    """The certificate, with its extensions already parsed; CertificateFormatError otherwise."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        for part in ("subject", "issuer", "extensions", "signature_hash_algorithm"):
            getattr(certificate, part)  # each parsed on first access: now, so a malformed one fails here
        certificate.public_key()
    except PARSE_ERRORS as exc:
        raise CertificateFormatError(f"not a well-formed certificate: {exc}") from None
    return certificate
