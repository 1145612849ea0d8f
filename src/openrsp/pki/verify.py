"""SGP.22 certificate chain rules: eUICC -> EUM -> CI, SM-DP+ certificates -> CI.

`verify_chain` builds the path from the leaf to one of the given CIs and checks it rule by rule;
the first broken rule raises ChainError with a short stable rule id:

    unknown-issuer     no given certificate issued this one (for the top: not a trusted CI)
    ski-aki            AuthorityKeyIdentifier missing or not the issuer's SubjectKeyIdentifier
    algorithm          not ECDSA-SHA256 on NIST P-256 / brainpoolP256r1
    signature          the issuer's key does not verify the signature
    expired, not-yet-valid
    basic-constraints, key-usage, ext-key-usage   per role (CA or not; certSign or digitalSignature)
    policy             the role's certificatePolicies OID is missing, or the issuer has the wrong role
    subject-alt-name   SM-DP+ certificates: registeredID (and DNS name for TLS) missing
    eid                eUICC subject serialNumber is not a valid EID
    eid-range          the EID lies outside the EUM's permitted range

Issuer chains already verified (an EUM up to its CI) are remembered by fingerprint, so verifying
the next eUICC under the same EUM costs one signature check.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.errors import InputError, OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.pki.certio import display_name, fingerprint
from openrsp.pki.curves import CURVE_TITLES, curve_of
from openrsp.pki.eid import eid_check_digits_valid, eid_from_certificate, range_violation
from openrsp.pki.facts import CertFacts
from openrsp.pki.roles import PROFILES, SERVER_AUTH, RoleProfile, check_role

RULES = (
    "unknown-issuer",
    "ski-aki",
    "algorithm",
    "signature",
    "expired",
    "not-yet-valid",
    "basic-constraints",
    "key-usage",
    "ext-key-usage",
    "policy",
    "subject-alt-name",
    "eid",
    "eid-range",
)


class ChainError(OpenRSPError):
    """A chain broke an SGP.22 rule. `role` names the certificate at fault (e.g. "eum")."""

    def __init__(
        self,
        rule: str,
        message: str,
        *,
        role: str | None = None,
        certificate: x509.Certificate | None = None,
        chain: Sequence[tuple[x509.Certificate, str]] = (),
    ) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message
        self.role = role
        self.certificate = certificate
        self.chain = tuple(chain)  # what was linked before the rule broke (leaf first)


def ski_of(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def aki_of(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_certificate(cert: x509.Certificate, role: str | None) -> dict[str, Any]:
    """What a user wants to see of one chain member (JSON-ready)."""
    ski, aki = ski_of(cert), aki_of(cert)
    info: dict[str, Any] = {
        "role": role,
        "subject": display_name(cert.subject),
        "issuer": display_name(cert.issuer),
        "serial": f"{cert.serial_number:X}",
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "ski": to_hex(ski) if ski else None,
        "aki": to_hex(aki) if aki else None,
        "curve": curve_of(cert.public_key()),
        "fingerprint": to_hex(fingerprint(cert)),
    }
    if role == "euicc":
        try:
            info["eid"] = eid_from_certificate(cert)
        except InputError:
            info["eid"] = None
    return info


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that passed every rule: certificates leaf first, the trusted CI last."""

    certificates: tuple[x509.Certificate, ...]
    roles: tuple[str, ...]
    valid_from: datetime  # the window in which every certificate of the chain is valid
    valid_until: datetime
    eid: str | None = None  # the leaf's EID, for an eUICC chain

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def role(self) -> str:
        return self.roles[0]

    @property
    def ci(self) -> x509.Certificate:
        return self.certificates[-1]

    @property
    def ci_pkid(self) -> bytes:
        """The CI's SubjectKeyIdentifier, which SGP.22 uses as the CI public key identifier."""
        return ski_of(self.ci) or b""

    def describe(self) -> list[dict[str, Any]]:
        return [describe_certificate(c, r) for c, r in zip(self.certificates, self.roles, strict=True)]


@dataclass
class _VerifiedIssuer:
    """An issuer chain (EUM ... CI) that passed every rule, and the window in which it holds."""

    links: tuple[tuple[CertFacts, str], ...]
    ci_fingerprint: bytes
    not_before: datetime
    not_after: datetime


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # holds no state: one for every SGP.22 certificate


def _signed_by(cert: CertFacts, issuer: CertFacts) -> bool:
    key = issuer.public_key
    algorithm = cert.cert.signature_hash_algorithm
    if not isinstance(key, ec.EllipticCurvePublicKey) or algorithm is None:
        return False
    ecdsa = _ECDSA_SHA256 if isinstance(algorithm, hashes.SHA256) else ec.ECDSA(algorithm)
    try:
        key.verify(cert.cert.signature, cert.cert.tbs_certificate_bytes, ecdsa)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def _title(role: str) -> str:
    return PROFILES[role].title


def _who(cert: CertFacts, role: str) -> str:
    return f"{_title(role)} certificate '{display_name(cert.cert.subject)}'"


@dataclass
class _Walk:
    """One verification in progress: the links found so far, for error reports."""

    at: datetime
    links: list[tuple[CertFacts, str]] = field(default_factory=list)

    def fail(self, rule: str, message: str, cert: CertFacts, role: str) -> ChainError:
        chain = [(f.cert, r) for f, r in self.links]
        return ChainError(rule, message, role=role, certificate=cert.cert, chain=chain)


class ChainVerifier:
    """Applies the SGP.22 chain rules; keeps a bounded cache of issuer chains it has verified, and
    the facts read from the issuer certificates (CIs, EUMs) it was given, kept per certificate."""

    def __init__(self, cache_size: int = 512) -> None:
        self._cache: OrderedDict[bytes, _VerifiedIssuer] = OrderedDict()
        self._cache_size = cache_size
        # id(certificate) -> its facts; each entry holds its certificate, so the id stays its own
        self._facts: OrderedDict[int, CertFacts] = OrderedDict()
        self._lock = threading.Lock()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._facts.clear()

    def _issuer_facts(self, cert: x509.Certificate) -> CertFacts:
        """The facts of a CI or intermediate: the same objects come back on every verification."""
        key = id(cert)
        with self._lock:
            hit = self._facts.get(key)
        if hit is not None and hit.cert is cert:
            return hit
        facts = CertFacts(cert)
        with self._lock:
            self._facts[key] = facts
            while len(self._facts) > self._cache_size:
                self._facts.popitem(last=False)
        return facts

    def verify(
        self,
        leaf: x509.Certificate,
        trusted_cis: Iterable[x509.Certificate],
        untrusted: Iterable[x509.Certificate] = (),
        role: str | None = None,
        at: datetime | None = None,
    ) -> VerifiedChain:
        at = _utc(at)
        trusted = [self._issuer_facts(c) for c in trusted_cis]
        pool = [self._issuer_facts(c) for c in untrusted]
        trusted_fps = {c.fingerprint for c in trusted}
        walk = _Walk(at)
        first = CertFacts(leaf)
        leaf_role = _leaf_role(first, role)
        walk.links.append((first, leaf_role))

        if leaf_role == "ci":
            if first.fingerprint not in trusted_fps:
                raise walk.fail(
                    "unknown-issuer", "this CI certificate is not one of the trusted CIs", first, "ci"
                )
            self._check_links(walk, 1)
            return _verified(walk.links)

        # Roles fix the path: eUICC -> EUM -> CI, every other role -> CI (SGP.22 v2).
        cert, cert_role = first, leaf_role
        unchecked = 1  # links[:unchecked] still need every rule; the rest came from the cache
        while cert_role != "ci":
            issuer_role = PROFILES[cert_role].issuer_role
            issuer = _find_issuer(
                cert, cert_role, trusted if issuer_role == "ci" else pool, issuer_role, walk
            )
            cached = self._cached(issuer, trusted_fps, at)
            if cached is not None:
                walk.links.extend(cached.links)
                break
            walk.links.append((issuer, issuer_role))
            unchecked += 1
            cert, cert_role = issuer, issuer_role

        self._check_links(walk, unchecked)
        chain = tuple(walk.links)
        if unchecked > 1:  # issuers checked just now (not vouched for by the cache): remember them
            self._remember(chain)
        return _verified(chain)

    def _cached(self, issuer: CertFacts, trusted_fps: set[bytes], at: datetime) -> _VerifiedIssuer | None:
        if issuer.role == "ci":
            return None  # CIs are trust anchors; checking them is cheap and must follow the caller's list
        key = issuer.fingerprint
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit and hit.ci_fingerprint in trusted_fps and hit.not_before <= at <= hit.not_after:
            return hit
        return None

    def _remember(self, chain: tuple[tuple[CertFacts, str], ...]) -> None:
        ci_fp = chain[-1][0].fingerprint
        with self._lock:
            for i in range(1, len(chain) - 1):  # every intermediate, with the rest of the chain above it
                links = chain[i:]
                self._cache[chain[i][0].fingerprint] = _VerifiedIssuer(
                    links,
                    ci_fp,
                    max(c.not_before for c, _ in links),
                    min(c.not_after for c, _ in links),
                )
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    @staticmethod
    def _check_links(walk: _Walk, count: int) -> None:
        """Check the first `count` links (those the cache does not vouch for), one rule at a time
        over all of them from the top down, so the most basic broken rule is the one reported."""
        links = walk.links
        # (certificate, role, issuer) with the CI as its own issuer
        triples = [
            (c, r, links[i + 1][0] if i + 1 < len(links) else c) for i, (c, r) in enumerate(links[:count])
        ]
        triples.reverse()
        for cert, role, _ in triples:
            _check_algorithm(walk, cert, role)
        for cert, role, issuer in triples:
            if role != "ci" and not _signed_by(cert, issuer):
                raise walk.fail(
                    "signature", f"{_who(cert, role)} is not signed by its issuer's key", cert, role
                )
        for cert, role, _ in triples:
            _check_validity(walk, cert, role)
        for cert, role, _ in triples:
            _check_profile(walk, cert, role)
        for cert, role, issuer in triples:
            if role == "euicc":
                _check_eid(walk, cert, issuer)


def _verified(links: Sequence[tuple[CertFacts, str]]) -> VerifiedChain:
    leaf, role = links[0]
    return VerifiedChain(
        tuple(c.cert for c, _ in links),
        tuple(r for _, r in links),
        max(c.not_before for c, _ in links),
        min(c.not_after for c, _ in links),
        leaf.eid if role == "euicc" else None,
    )


def _leaf_role(leaf: CertFacts, role: str | None) -> str:
    """The role the leaf must have: the one asked for, or the one its policy names."""
    found = leaf.role
    if role is not None:
        expected = check_role(role)
        if found != role:
            shown = f"policy of a {_title(found)} certificate" if found else "no SGP.22 role policy"
            raise ChainError(
                "policy",
                f"expected a {expected.title} certificate (policy {expected.policy.dotted_string}); "
                f"this one has {shown}",
                role=role,
                certificate=leaf.cert,
            )
        return role
    if found is None:
        raise ChainError(
            "policy", "certificate has no SGP.22 role policy (2.23.146.1.2.1.x)", certificate=leaf.cert
        )
    return found


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _find_issuer(
    cert: CertFacts,
    role: str,
    candidates: list[CertFacts],
    issuer_role: str,
    walk: _Walk,
) -> CertFacts:
    """The candidate whose subject is the certificate's issuer and whose SKI is its AKI."""
    issuer_name = cert.cert.issuer
    named = [c for c in candidates if c.cert.subject == issuer_name]
    aki = cert.aki
    if aki is None:
        raise walk.fail("ski-aki", f"{_who(cert, role)} has no AuthorityKeyIdentifier", cert, role)
    keyed = [c for c in named if c.ski == aki]
    if len(keyed) == 1:
        return keyed[0]  # its signature is checked with the other rules (_check_links)
    if keyed:
        return next((c for c in keyed if _signed_by(cert, c)), keyed[0])
    signer = next((c for c in named if _signed_by(cert, c)), None)
    if signer is not None:
        ski = signer.ski
        raise walk.fail(
            "ski-aki",
            f"{_who(cert, role)} has AuthorityKeyIdentifier {to_hex(aki)} but its issuer's "
            f"SubjectKeyIdentifier is {to_hex(ski) if ski else 'missing'}",
            cert,
            role,
        )
    if issuer_role == "ci":
        message = (
            f"no trusted CI '{display_name(issuer_name)}' with key id {to_hex(aki)} issued {_who(cert, role)}"
        )
    else:
        message = (
            f"issuer '{display_name(issuer_name)}' (key id {to_hex(aki)}) of {_who(cert, role)} "
            f"is not among the given {_title(issuer_role)} certificates"
        )
    raise walk.fail("unknown-issuer", message, cert, role)


def _check_algorithm(walk: _Walk, cert: CertFacts, role: str) -> None:
    if cert.curve is None:
        raise walk.fail(
            "algorithm", f"{_who(cert, role)} key is not on {' or '.join(CURVE_TITLES.values())}", cert, role
        )
    if not isinstance(cert.cert.signature_hash_algorithm, hashes.SHA256):
        raise walk.fail("algorithm", f"{_who(cert, role)} is not signed with ECDSA-SHA256", cert, role)


def _check_validity(walk: _Walk, cert: CertFacts, role: str) -> None:
    if walk.at > cert.not_after:
        raise walk.fail("expired", f"{_who(cert, role)} expired {_iso(cert.not_after)}", cert, role)
    if walk.at < cert.not_before:
        raise walk.fail(
            "not-yet-valid",
            f"{_who(cert, role)} is valid only from {_iso(cert.not_before)}",
            cert,
            role,
        )


def _check_profile(walk: _Walk, cert: CertFacts, role: str) -> None:
    profile: RoleProfile = PROFILES[role]

    def fail(rule: str, problem: str) -> ChainError:
        # The certificate's description is built only for the message of a failure.
        return walk.fail(rule, f"{_who(cert, role)} {problem}", cert, role)

    constraints = cert.extension(x509.BasicConstraints)
    if profile.is_ca and (constraints is None or not constraints.ca):
        raise fail("basic-constraints", "must be a CA (basicConstraints cA TRUE)")
    if not profile.is_ca and constraints is not None and constraints.ca:
        raise fail("basic-constraints", "must not be a CA")

    usage = cert.extension(x509.KeyUsage)
    if usage is None:
        raise fail("key-usage", "has no keyUsage extension")
    if profile.is_ca and not usage.key_cert_sign:
        raise fail("key-usage", "keyUsage lacks keyCertSign")
    if not profile.is_ca and (not usage.digital_signature or usage.key_cert_sign):
        raise fail("key-usage", "keyUsage must be digitalSignature without keyCertSign")
    if profile.server_auth:
        eku = cert.extension(x509.ExtendedKeyUsage)
        if eku is None or SERVER_AUTH not in eku:
            raise fail("ext-key-usage", "extendedKeyUsage lacks serverAuth")

    if profile.policy not in cert.policies:
        raise fail("policy", f"lacks certificate policy {profile.policy.dotted_string}")

    if cert.ski is None:
        raise fail("ski-aki", "has no SubjectKeyIdentifier")

    if profile.needs_registered_id or profile.needs_dns_name:
        san = cert.extension(x509.SubjectAlternativeName)
        names = list(san) if san is not None else []
        if profile.needs_registered_id and not any(isinstance(n, x509.RegisteredID) for n in names):
            raise fail("subject-alt-name", "names no SM-DP+ OID (registeredID)")
        if profile.needs_dns_name and not any(isinstance(n, x509.DNSName | x509.IPAddress) for n in names):
            raise fail("subject-alt-name", "names no DNS name")


def _check_eid(walk: _Walk, cert: CertFacts, eum: CertFacts) -> None:
    try:
        eid = cert.eid
    except InputError:
        raise walk.fail("eid", "eUICC certificate subject has no serialNumber (EID)", cert, "euicc") from None
    if not eid_check_digits_valid(eid):
        raise walk.fail("eid", f"eUICC certificate serialNumber {eid!r} is not a valid EID", cert, "euicc")
    try:
        permitted = eum.eum_range
    except InputError as exc:
        raise walk.fail("eid-range", str(exc), eum, "eum") from None
    problem = range_violation(cert.cert, eid, permitted)
    if problem:
        raise walk.fail("eid-range", problem, cert, "euicc")


_DEFAULT_VERIFIER = ChainVerifier()


def verify_chain(
    leaf: x509.Certificate,
    trusted_cis: Sequence[x509.Certificate],
    untrusted: Sequence[x509.Certificate] = (),
    role: str | None = None,
    at: datetime | None = None,
) -> VerifiedChain:
    """Verify `leaf` up to one of `trusted_cis` under the SGP.22 rules (see module doc).

    `untrusted` supplies intermediates (the EUM for an eUICC); `role` pins what the leaf must be
    (otherwise its policy decides); `at` is the moment of validity (default now). Raises ChainError.
    """
    return _DEFAULT_VERIFIER.verify(leaf, trusted_cis, untrusted, role, at)
