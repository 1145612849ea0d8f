"""What each SGP.22 certificate role must carry; shared by issuing and by the chain rules."""

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from openrsp.errors import InputError
from openrsp.pki import oids


@dataclass(frozen=True)
class RoleProfile:
    name: str  # short id used in APIs, JSON and the CLI
    title: str  # how people write it
    policy: x509.ObjectIdentifier
    issuer_role: str  # the role that signs it ("ci" signs itself)
    is_ca: bool
    needs_registered_id: bool = False  # SM-DP+/SM-DS certificates name their OID in subjectAltName
    needs_dns_name: bool = False
    server_auth: bool = False  # TLS server certificate: extendedKeyUsage serverAuth


PROFILES: dict[str, RoleProfile] = {
    p.name: p
    for p in (
        RoleProfile("ci", "CI", oids.POLICY_CI, "ci", is_ca=True),
        RoleProfile("eum", "EUM", oids.POLICY_EUM, "ci", is_ca=True),
        RoleProfile("euicc", "eUICC", oids.POLICY_EUICC, "eum", is_ca=False),
        RoleProfile("dpauth", "SM-DP+ auth", oids.POLICY_DPAUTH, "ci", False, needs_registered_id=True),
        RoleProfile(
            "dppb", "SM-DP+ profile binding", oids.POLICY_DPPB, "ci", False, needs_registered_id=True
        ),
        RoleProfile(
            "dptls",
            "SM-DP+ TLS",
            oids.POLICY_DPTLS,
            "ci",
            False,
            needs_registered_id=True,
            needs_dns_name=True,
            server_auth=True,
        ),
        RoleProfile("dsauth", "SM-DS auth", oids.POLICY_DSAUTH, "ci", False, needs_registered_id=True),
        RoleProfile(
            "dstls",
            "SM-DS TLS",
            oids.POLICY_DSTLS,
            "ci",
            False,
            needs_registered_id=True,
            needs_dns_name=True,
            server_auth=True,
        ),
    )
}
# The roles whose certificate may sign serverSigned1 (SGP.22 §5.7.13: the eUICC accepts both).
SERVER_AUTH_ROLES = ("dpauth", "dsauth")
ROLES = tuple(PROFILES)
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


def check_role(name: str) -> RoleProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(f"unknown role {name!r} (use one of: {', '.join(ROLES)})") from None


def policies_of(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.CertificatePolicies)
    except x509.ExtensionNotFound:
        return []
    return [info.policy_identifier for info in ext.value]


def role_of(cert: x509.Certificate) -> str | None:
    """The SGP.22 role a certificate's policy names, or None when it names none."""
    found = set(policies_of(cert))
    for profile in PROFILES.values():
        if profile.policy in found:
            return profile.name
    return None
