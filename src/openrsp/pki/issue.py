"""Issue one certificate per SGP.22 role, with the extensions SGP.26 shows for that role.

Every function takes the issuer's certificate and key plus the subject's public key, and returns
the signed certificate (ECDSA with SHA-256). Times and serial numbers are parameters so tests pin
them. `init_pki` (a whole PKI on disk) lives in openrsp.pki.testpki and is re-exported here.
"""

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from openrsp.errors import InputError
from openrsp.pki import oids
from openrsp.pki.eid import (
    DEFAULT_EID,
    eid_name_constraints,
    eid_permitted,
    permitted_eins_extension,
    validate_eid,
)
from openrsp.pki.layout import PkiIndex

CI_LIFETIME = timedelta(days=35 * 365)
EUM_LIFETIME = timedelta(days=30 * 365)
LEAF_LIFETIME = timedelta(days=10 * 365)
# SGP.22 gives eUICC certificates no end of life: notAfter 99991231235959Z.
EUICC_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
DEFAULT_CRL_URL = "http://ci.openrsp.test/ci.crl"
DEFAULT_SMDP_HOST = "smdp.openrsp.test"
DEFAULT_SMDS_HOST = "smds.openrsp.test"

EidConstraint = Literal["permitted-eins", "name-constraints"]


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


CI_SUBJECT = _name(
    (NameOID.COMMON_NAME, "openrsp Test CI"),
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "TESTCERT"),
    (NameOID.ORGANIZATION_NAME, "openrsp"),
)
EUM_SUBJECT = _name((NameOID.ORGANIZATION_NAME, "openrsp Test EUM"), (NameOID.COMMON_NAME, "openrsp EUM"))
SMDP_SUBJECT = _name((NameOID.ORGANIZATION_NAME, "openrsp"), (NameOID.COMMON_NAME, "openrsp SM-DP+"))
SMDS_SUBJECT = _name((NameOID.ORGANIZATION_NAME, "openrsp"), (NameOID.COMMON_NAME, "openrsp SM-DS"))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _window(
    not_before: datetime | None, not_after: datetime | None, lifetime: timedelta
) -> tuple[datetime, datetime]:
    start = not_before or _now()
    end = not_after or start + lifetime
    if end <= start:
        raise InputError(f"certificate would end ({end.isoformat()}) before it starts ({start.isoformat()})")
    return start, end


def _check_issuer_key(issuer_cert: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey) -> None:
    if issuer_cert.public_key() != issuer_key.public_key():
        raise InputError(
            f"the issuer key does not belong to the certificate of {issuer_cert.subject.rfc4514_string()}"
        )


def _ski(public_key: ec.EllipticCurvePublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _aki(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """keyIdentifier only, as in SGP.26: the issuer's SubjectKeyIdentifier."""
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        ski = _ski(issuer_cert.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _key_usage(
    *, digital_signature: bool = False, cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _policy(oid: x509.ObjectIdentifier) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None)])


def _crl(url: str | None) -> list[tuple[x509.ExtensionType, bool]]:
    if not url:
        return []
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
    return [(x509.CRLDistributionPoints([point]), False)]


def _sign(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_name: x509.Name,
    signing_key: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
    window: tuple[datetime, datetime],
    serial: int | None,
) -> x509.Certificate:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise InputError("SGP.22 certificates carry elliptic-curve public keys")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(window[0])
        .not_valid_after(window[1])
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def issue_ci_certificate(
    key: ec.EllipticCurvePrivateKey,
    *,
    subject: x509.Name = CI_SUBJECT,
    ci_oid: str = oids.DEFAULT_CI_OID,
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """The self-signed CI (root); its SubjectKeyIdentifier is the PKID eUICCs list."""
    public_key = key.public_key()
    extensions = [
        (_ski(public_key), False),
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (_policy(oids.POLICY_CI), True),
        (_key_usage(cert_sign=True, crl_sign=True), True),
        (x509.SubjectAlternativeName([x509.RegisteredID(x509.ObjectIdentifier(ci_oid))]), False),
        *_crl(crl_url),
    ]
    return _sign(
        subject, public_key, subject, key, extensions, _window(not_before, not_after, CI_LIFETIME), serial
    )


def issue_eum_certificate(
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    *,
    permitted_eins: Sequence[str] = (DEFAULT_EID[:8],),
    eid_constraint: EidConstraint = "permitted-eins",
    subject: x509.Name = EUM_SUBJECT,
    eum_oid: str = oids.DEFAULT_EUM_OID,
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """An EUM (sub-CA, pathLen 0) allowed to certify EIDs starting with one of `permitted_eins`.

    The default carries the range in the permittedEins extension (non-critical), which generic
    X.509 verifiers such as `openssl verify` accept. "name-constraints" mirrors the SGP.26 EUM
    exactly, but RFC 5280 name matching (openssl) then rejects every eUICC under it.
    """
    _check_issuer_key(ci_cert, ci_key)
    prefixes = list(permitted_eins)
    if not prefixes or not all(p.isdigit() and 0 < len(p) <= 32 for p in prefixes):
        raise InputError(f"permitted EINs must be non-empty digit strings, got {prefixes!r}")
    if eid_constraint == "permitted-eins":
        range_ext: tuple[x509.ExtensionType, bool] = (permitted_eins_extension(prefixes), False)
    elif eid_constraint == "name-constraints":
        orgs = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if not orgs:
            raise InputError("name constraints need an O= in the EUM subject")
        range_ext = (eid_name_constraints(str(orgs[0].value), prefixes), True)
    else:
        raise InputError(f"unknown EID constraint style {eid_constraint!r}")
    extensions = [
        (_aki(ci_cert), False),
        (_ski(public_key), False),
        (_key_usage(cert_sign=True), True),
        (_policy(oids.POLICY_EUM), True),
        (x509.SubjectAlternativeName([x509.RegisteredID(x509.ObjectIdentifier(eum_oid))]), False),
        (x509.BasicConstraints(ca=True, path_length=0), True),
        *_crl(crl_url),
        range_ext,
    ]
    window = _window(not_before, not_after, EUM_LIFETIME)
    return _sign(subject, public_key, ci_cert.subject, ci_key, extensions, window, serial)


def issue_euicc_certificate(
    eum_cert: x509.Certificate,
    eum_key: ec.EllipticCurvePrivateKey,
    eid: str,
    public_key: ec.EllipticCurvePublicKey,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = EUICC_NOT_AFTER,
    serial: int | None = None,
    common_name: str = "openrsp eUICC",
    strict: bool = True,
) -> x509.Certificate:
    """An eUICC certificate: subject C/O copied from the EUM, serialNumber = EID, CN.

    With strict (the default) the EID must have valid check digits and lie in the EUM's range;
    tests turn it off to make certificates the chain rules must reject.
    """
    _check_issuer_key(eum_cert, eum_key)
    if strict:
        eid = validate_eid(eid)
        if not eid_permitted(eid, eum_cert):
            raise InputError(f"EID {eid} is outside the EUM's permitted range")
    inherited = [
        attr for attr in eum_cert.subject if attr.oid in (NameOID.COUNTRY_NAME, NameOID.ORGANIZATION_NAME)
    ]
    subject = x509.Name(
        [
            *inherited,
            x509.NameAttribute(NameOID.SERIAL_NUMBER, eid),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    extensions = [
        (_aki(eum_cert), False),
        (_ski(public_key), False),
        (_key_usage(digital_signature=True), True),
        (_policy(oids.POLICY_EUICC), True),
    ]
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _sign(subject, public_key, eum_cert.subject, eum_key, extensions, window, serial)


def _smdp_certificate(
    policy: x509.ObjectIdentifier,
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    smdp_oid: str,
    crl_url: str | None,
    window: tuple[datetime, datetime],
    serial: int | None,
) -> x509.Certificate:
    _check_issuer_key(ci_cert, ci_key)
    extensions = [
        (_aki(ci_cert), False),
        (_ski(public_key), False),
        (x509.SubjectAlternativeName([x509.RegisteredID(x509.ObjectIdentifier(smdp_oid))]), False),
        (_key_usage(digital_signature=True), True),
        (_policy(policy), True),
        *_crl(crl_url),
    ]
    return _sign(subject, public_key, ci_cert.subject, ci_key, extensions, window, serial)


def issue_dpauth_certificate(
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    *,
    smdp_oid: str = oids.DEFAULT_SMDP_OID,
    subject: x509.Name = SMDP_SUBJECT,
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """CERT.DPauth.ECDSA: the SM-DP+ signs serverSigned1 with it."""
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _smdp_certificate(
        oids.POLICY_DPAUTH, ci_cert, ci_key, public_key, subject, smdp_oid, crl_url, window, serial
    )


def issue_dppb_certificate(
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    *,
    smdp_oid: str = oids.DEFAULT_SMDP_OID,
    subject: x509.Name = SMDP_SUBJECT,
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """CERT.DPpb.ECDSA: the SM-DP+ signs smdpSigned2 and the bound profile package with it."""
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _smdp_certificate(
        oids.POLICY_DPPB, ci_cert, ci_key, public_key, subject, smdp_oid, crl_url, window, serial
    )


def issue_dsauth_certificate(
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    *,
    smds_oid: str = oids.DEFAULT_SMDS_OID,
    subject: x509.Name = SMDS_SUBJECT,
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """CERT.DSauth.ECDSA: the SM-DS signs serverSigned1 of ES11 with it (the eUICC checks it as a DPauth)."""
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _smdp_certificate(
        oids.POLICY_DSAUTH, ci_cert, ci_key, public_key, subject, smds_oid, crl_url, window, serial
    )


def host_name(host: str) -> x509.GeneralName:
    """A TLS server name as subjectAltName: IP address or DNS name (no port, no scheme)."""
    host = host.strip()
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    valid = all(0 < len(lab) <= 63 and lab.replace("-", "").isalnum() and lab.isascii() for lab in labels)
    if not host or not valid or len(host) > 253:
        raise InputError(f"not a valid host name for a TLS certificate: {host!r}")
    return x509.DNSName(host.lower())


def issue_dptls_certificate(
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    host: str = DEFAULT_SMDP_HOST,
    *,
    smdp_oid: str = oids.DEFAULT_SMDP_OID,
    organization: str = "openrsp",
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """CERT.DP.TLS: the ES9+ HTTPS server certificate, issued by the CI, naming host and OID."""
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _tls_certificate(
        oids.POLICY_DPTLS, ci_cert, ci_key, public_key, host, smdp_oid, organization, crl_url, window, serial
    )


def issue_dstls_certificate(
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    host: str = DEFAULT_SMDS_HOST,
    *,
    smds_oid: str = oids.DEFAULT_SMDS_OID,
    organization: str = "openrsp",
    crl_url: str | None = DEFAULT_CRL_URL,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """CERT.DS.TLS: the ES11/ES12/ES15 HTTPS certificate of an SM-DS (also its ES15 client certificate)."""
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _tls_certificate(
        oids.POLICY_DSTLS, ci_cert, ci_key, public_key, host, smds_oid, organization, crl_url, window, serial
    )


def _tls_certificate(
    policy: x509.ObjectIdentifier,
    ci_cert: x509.Certificate,
    ci_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    host: str,
    server_oid: str,
    organization: str,
    crl_url: str | None,
    window: tuple[datetime, datetime],
    serial: int | None,
) -> x509.Certificate:
    _check_issuer_key(ci_cert, ci_key)
    name = host_name(host)
    subject = _name((NameOID.ORGANIZATION_NAME, organization), (NameOID.COMMON_NAME, host.strip().lower()))
    extensions = [
        (_key_usage(digital_signature=True), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), True),
        (_policy(policy), False),  # SGP.26 marks only the TLS policy non-critical
        (_ski(public_key), False),
        (_aki(ci_cert), False),
        (x509.SubjectAlternativeName([name, x509.RegisteredID(x509.ObjectIdentifier(server_oid))]), False),
        *_crl(crl_url),
    ]
    return _sign(subject, public_key, ci_cert.subject, ci_key, extensions, window, serial)


def issue_tls_ca_certificate(
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    organization: str = "openrsp",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """A plain self-signed TLS CA (outside the GSMA PKI), for LPA or operator client certificates."""
    public_key = key.public_key()
    subject = _name((NameOID.ORGANIZATION_NAME, organization), (NameOID.COMMON_NAME, common_name))
    extensions = [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (_key_usage(cert_sign=True, crl_sign=True), True),
        (_ski(public_key), False),
    ]
    return _sign(
        subject, public_key, subject, key, extensions, _window(not_before, not_after, CI_LIFETIME), serial
    )


def issue_tls_client_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    common_name: str,
    *,
    organization: str = "openrsp",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """A TLS client certificate (clientAuth) under a plain TLS CA."""
    _check_issuer_key(ca_cert, ca_key)
    subject = _name((NameOID.ORGANIZATION_NAME, organization), (NameOID.COMMON_NAME, common_name))
    extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(digital_signature=True), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        (_ski(public_key), False),
        (_aki(ca_cert), False),
    ]
    window = _window(not_before, not_after, LEAF_LIFETIME)
    return _sign(subject, public_key, ca_cert.subject, ca_key, extensions, window, serial)


def init_pki(
    directory: Path | str,
    curves: Sequence[str] = ("nist", "brp"),
    eid: str = DEFAULT_EID,
    smdp_host: str = DEFAULT_SMDP_HOST,
    *,
    force: bool = False,
    now: datetime | None = None,
    smdp_oid: str = oids.DEFAULT_SMDP_OID,
) -> PkiIndex:
    """Create a complete test PKI on disk (the `openrsp pki init` layout); see openrsp.pki.testpki."""
    from openrsp.pki.testpki import init_pki as _init_pki  # testpki builds on this module

    return _init_pki(directory, curves, eid, smdp_host, force=force, now=now, smdp_oid=smdp_oid)
