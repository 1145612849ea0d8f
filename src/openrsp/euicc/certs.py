"""How the eUICC checks the SM-DP+'s certificates (CERT.DPauth, CERT.DPpb) against the CIs it trusts."""

from __future__ import annotations

import functools
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.crypto.ecdsa import PublicKey, curve_of
from openrsp.crypto.errors import KeyFormatError
from openrsp.errors import OpenRSPError
from openrsp.euicc.state import TrustedCi
from openrsp.pki.roles import role_of
from openrsp.pki.untrusted import PARSE_ERRORS, CertificateFormatError, parse_certificate
from openrsp.pki.verify import ChainError, verify_chain


class ServerCertificateError(OpenRSPError):
    """An SM-DP+ certificate the eUICC refuses; `kind` picks the SGP.22 error code.

    kind: "unknown-ci" (issued by a CI the eUICC does not trust), "curve" (not a curve the eUICC
    supports), "oid" (no SM-DP+ OID), "invalid" (any chain rule fails).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@functools.lru_cache(maxsize=128)
def load_der(der: bytes) -> x509.Certificate:
    """Parse a DER certificate once per process (the same SM-DP+ certificates come again and again)."""
    try:
        return parse_certificate(der)
    except CertificateFormatError as exc:
        raise ServerCertificateError("invalid", str(exc)) from None


# cryptography parses names and keys lazily: a malformed one only fails when it is first read.
_LAZY_PARSE_ERRORS = PARSE_ERRORS


def smdp_oid(cert: x509.Certificate) -> str | None:
    """The SM-DP+ OID: the registeredID in the certificate's subjectAltName."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    except _LAZY_PARSE_ERRORS as exc:
        raise ServerCertificateError("invalid", f"malformed certificate extensions: {exc}") from None
    oids = san.get_values_for_type(x509.RegisteredID)
    return oids[0].dotted_string if oids else None


def authority_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None
    except _LAZY_PARSE_ERRORS as exc:
        raise ServerCertificateError("invalid", f"malformed certificate extensions: {exc}") from None


def public_key(cert: x509.Certificate) -> PublicKey:
    try:
        key = cert.public_key()
    except UnsupportedAlgorithm as exc:
        raise ServerCertificateError("curve", f"unsupported key: {exc}") from None
    except ValueError as exc:
        raise ServerCertificateError("invalid", f"malformed public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ServerCertificateError("curve", "the certificate's key is not an EC key")
    try:
        curve_of(key)
    except KeyFormatError as exc:
        raise ServerCertificateError("curve", str(exc)) from None
    return key


def verify_server_certificate(
    der: bytes, trusted: list[TrustedCi], role: str | tuple[str, ...], at: datetime
) -> tuple[x509.Certificate, TrustedCi]:
    """The certificate and the CI it chains to, or ServerCertificateError saying why not.

    `role` may name several roles (AuthenticateServer takes CERT.DPauth or CERT.DSauth): the
    certificate's own policy picks one of them, and the chain rules are those of that role.
    """
    cert = load_der(der)
    if isinstance(role, tuple):
        named = role_of(cert)
        role = named if named in role else role[0]
    public_key(cert)
    aki = authority_key_id(cert)
    ci = next((c for c in trusted if c.pkid == aki), None)
    if ci is None:
        raise ServerCertificateError(
            "unknown-ci", f"{role} certificate is issued by a CI this eUICC does not know"
        )
    try:
        verify_chain(cert, [load_der(ci.certificate)], [], role=role, at=at)
    except ChainError as exc:
        raise ServerCertificateError("invalid", f"{role} certificate: {exc}") from None
    except _LAZY_PARSE_ERRORS as exc:
        raise ServerCertificateError("invalid", f"{role} certificate is malformed: {exc}") from None
    if smdp_oid(cert) is None:
        raise ServerCertificateError("oid", f"{role} certificate carries no SM-DP+ OID")
    return cert, ci
