"""SGP.22 chain rules: real SGP.26 chains pass; each kind of broken chain names its rule."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pki_testdata import SGP26_CHAINS, SGP26_EID, SGP26_PKIDS, SGP26_TIME

from openrsp.pki.certio import certificate_der, load_certificate, load_private_key
from openrsp.pki.curves import generate_key
from openrsp.pki.eid import make_eid
from openrsp.pki.issue import (
    issue_ci_certificate,
    issue_dpauth_certificate,
    issue_euicc_certificate,
    issue_eum_certificate,
)
from openrsp.pki.verify import ChainError, ChainVerifier, verify_chain


def _tampered(cert: x509.Certificate, *, in_signature: bool) -> x509.Certificate:
    der = bytearray(certificate_der(cert))
    if in_signature:
        der[-5] ^= 0x01  # inside s of the ECDSA signature
    else:
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.encode()
        der[der.index(cn)] ^= 0x01  # one letter of the subject CN, inside the signed TBS
    return x509.load_der_x509_certificate(bytes(der))


def _rule(excinfo: pytest.ExceptionInfo[ChainError]) -> str:
    return excinfo.value.rule


@pytest.mark.parametrize("curve", ["NIST", "BRP"])
@pytest.mark.parametrize("leaf", sorted(SGP26_CHAINS))
def test_every_sgp26_chain_is_valid(sgp26_dir, leaf, curve):
    role, needs_eum = SGP26_CHAINS[leaf]
    ci = load_certificate(sgp26_dir / f"CertificateIssuer/CERT_CI_ECDSA_{curve}.der")
    untrusted = [load_certificate(sgp26_dir / f"EUM/CERT_EUM_ECDSA_{curve}.der")] if needs_eum else []
    chain = verify_chain(load_certificate(sgp26_dir / leaf.format(c=curve)), [ci], untrusted, at=SGP26_TIME)
    assert chain.role == role
    assert chain.ci_pkid.hex().upper() == SGP26_PKIDS[curve]
    if role == "euicc":
        assert chain.roles == ("euicc", "eum", "ci")
        assert chain.eid == SGP26_EID


def test_sgp26_euicc_under_both_cis_picks_its_own(sgp26_dir):
    cis = [load_certificate(sgp26_dir / f"CertificateIssuer/CERT_CI_ECDSA_{c}.der") for c in ("NIST", "BRP")]
    eums = [load_certificate(sgp26_dir / f"EUM/CERT_EUM_ECDSA_{c}.der") for c in ("NIST", "BRP")]
    leaf = load_certificate(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_BRP.der")
    chain = verify_chain(leaf, cis, eums, role="euicc", at=SGP26_TIME)
    assert chain.ci == cis[1]


def test_our_chains_verify(pki):
    for role in ("ci", "eum", "dpauth", "dppb"):
        assert verify_chain(pki.cert(role), [pki.cert("ci")]).role == role
    chain = verify_chain(pki.cert("euicc"), [pki.cert("ci")], [pki.cert("eum")], role="euicc")
    assert chain.eid == "89001012012341234012345678901224"


@pytest.mark.parametrize("in_signature", [True, False], ids=["signature-byte", "tbs-byte"])
@pytest.mark.parametrize("role", ["euicc", "eum", "dpauth"])
def test_tampered_certificate_fails_signature(pki, role, in_signature):
    bad = _tampered(pki.cert(role), in_signature=in_signature)
    with pytest.raises(ChainError) as excinfo:
        verify_chain(bad, [pki.cert("ci")], [pki.cert("eum")], role=role)
    assert _rule(excinfo) == "signature"
    assert excinfo.value.role == role


def test_tampered_sgp26_euicc_fails_signature(sgp26_dir):
    ci = load_certificate(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    eum = load_certificate(sgp26_dir / "EUM/CERT_EUM_ECDSA_NIST.der")
    bad = _tampered(load_certificate(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der"), in_signature=False)
    with pytest.raises(ChainError) as excinfo:
        verify_chain(bad, [ci], [eum], at=SGP26_TIME)
    assert _rule(excinfo) == "signature"


def test_validity_is_checked_at_the_given_time(pki):
    ci, eum, euicc = pki.cert("ci"), pki.cert("eum"), pki.cert("euicc")
    with pytest.raises(ChainError) as excinfo:
        verify_chain(pki.cert("dpauth"), [ci], at=datetime.now(UTC) + timedelta(days=11 * 365))
    assert _rule(excinfo) == "expired"
    with pytest.raises(ChainError) as excinfo:
        verify_chain(euicc, [ci], [eum], at=datetime.now(UTC) - timedelta(days=1))
    assert _rule(excinfo) == "not-yet-valid"


def test_certificate_issued_with_past_validity_is_expired(nist):
    key = generate_key("nist")
    old = issue_dpauth_certificate(
        nist.cert("ci"),
        nist.key("ci"),
        key.public_key(),
        not_before=datetime.now(UTC) - timedelta(days=30),
        not_after=datetime.now(UTC) - timedelta(days=1),
    )
    with pytest.raises(ChainError) as excinfo:
        verify_chain(old, [nist.cert("ci")])
    assert (_rule(excinfo), excinfo.value.role) == ("expired", "dpauth")


def test_wrong_ci_is_unknown_issuer(pki, sgp26_dir):
    other_ci = issue_ci_certificate(generate_key(pki.curve))  # same subject name, another key
    sgp26_ci = load_certificate(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    for trusted in ([other_ci], [sgp26_ci]):
        with pytest.raises(ChainError) as excinfo:
            verify_chain(pki.cert("euicc"), trusted, [pki.cert("eum")])
        assert _rule(excinfo) == "unknown-issuer"


def test_euicc_without_its_eum_is_unknown_issuer(pki):
    with pytest.raises(ChainError) as excinfo:
        verify_chain(pki.cert("euicc"), [pki.cert("ci")])
    assert _rule(excinfo) == "unknown-issuer"


def test_sgp26_euicc_with_our_eum_is_unknown_issuer(pki, sgp26_dir):
    ci = load_certificate(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    leaf = load_certificate(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der")
    with pytest.raises(ChainError) as excinfo:
        verify_chain(leaf, [ci], [pki.cert("eum")], at=SGP26_TIME)
    assert _rule(excinfo) == "unknown-issuer"


def test_eid_outside_the_eum_range(pki):
    outside = make_eid("89049032", 7)
    leaf = issue_euicc_certificate(
        pki.cert("eum"), pki.key("eum"), outside, generate_key(pki.curve).public_key(), strict=False
    )
    with pytest.raises(ChainError) as excinfo:
        verify_chain(leaf, [pki.cert("ci")], [pki.cert("eum")])
    assert _rule(excinfo) == "eid-range"
    assert outside in excinfo.value.message


def test_eid_outside_sgp26_name_constraints(sgp26_dir):
    """The SGP.26 EUM restricts EIDs with nameConstraints (O + serialNumber prefix)."""
    ci = load_certificate(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    eum = load_certificate(sgp26_dir / "EUM/CERT_EUM_ECDSA_NIST.der")
    eum_key = load_private_key(sgp26_dir / "EUM/SK_EUM_ECDSA_NIST.pem")
    key = generate_key("nist").public_key()
    inside = issue_euicc_certificate(eum, eum_key, make_eid("89049032", 42), key, not_before=SGP26_TIME)
    assert verify_chain(inside, [ci], [eum], at=SGP26_TIME).eid == make_eid("89049032", 42)
    outside = issue_euicc_certificate(
        eum, eum_key, make_eid("89001012", 42), key, not_before=SGP26_TIME, strict=False
    )
    with pytest.raises(ChainError) as excinfo:
        verify_chain(outside, [ci], [eum], at=SGP26_TIME)
    assert _rule(excinfo) == "eid-range"


def test_name_constraint_style_eum_is_enforced(nist):
    eum_key = generate_key("nist")
    eum = issue_eum_certificate(
        nist.cert("ci"), nist.key("ci"), eum_key.public_key(), permitted_eins=["89001012"],
        eid_constraint="name-constraints",
    )  # fmt: skip
    key = generate_key("nist").public_key()
    good = issue_euicc_certificate(eum, eum_key, make_eid("89001012", 5), key)
    assert verify_chain(good, [nist.cert("ci")], [eum]).role == "euicc"
    bad = issue_euicc_certificate(eum, eum_key, make_eid("89001013", 5), key, strict=False)
    with pytest.raises(ChainError) as excinfo:
        verify_chain(bad, [nist.cert("ci")], [eum])
    assert _rule(excinfo) == "eid-range"


def test_eid_with_wrong_check_digits(nist):
    eid = make_eid("89001012", 9)
    broken = eid[:-1] + str((int(eid[-1]) + 1) % 10)
    leaf = issue_euicc_certificate(
        nist.cert("eum"), nist.key("eum"), broken, generate_key("nist").public_key(), strict=False
    )
    with pytest.raises(ChainError) as excinfo:
        verify_chain(leaf, [nist.cert("ci")], [nist.cert("eum")])
    assert _rule(excinfo) == "eid"


def test_role_mismatch_is_a_policy_failure(nist):
    with pytest.raises(ChainError) as excinfo:
        verify_chain(nist.cert("dppb"), [nist.cert("ci")], role="dpauth")
    assert _rule(excinfo) == "policy"


def _custom(issuer_cert, issuer_key, *, subject_cn, extensions, key=None):
    key = key or generate_key("nist")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(minutes=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _aki(cert):
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ku(**bits):
    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]  # fmt: skip
    return x509.KeyUsage(**{n: bits.get(n, False) for n in names})


def _policy(dotted):
    return x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(dotted), None)])


def _dpauth_like(nist, **overrides):
    key = generate_key("nist")
    exts = {
        "aki": (_aki(nist.cert("ci")), False),
        "ski": (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
        "san": (x509.SubjectAlternativeName([x509.RegisteredID(x509.ObjectIdentifier("2.999.10"))]), False),
        "ku": (_ku(digital_signature=True), True),
        "policy": (_policy("2.23.146.1.2.1.4"), True),
    }
    exts.update(overrides)
    extensions = [e for e in exts.values() if e is not None]
    return _custom(
        nist.cert("ci"), nist.key("ci"), subject_cn="custom DPauth", extensions=extensions, key=key
    )


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({}, None),
        ({"ku": (_ku(digital_signature=True, key_cert_sign=True), True)}, "key-usage"),
        ({"ku": None}, "key-usage"),
        ({"bc": (x509.BasicConstraints(ca=True, path_length=None), True)}, "basic-constraints"),
        ({"san": None}, "subject-alt-name"),
        ({"ski": None}, "ski-aki"),
        ({"aki": None}, "ski-aki"),
        ({"aki": (x509.AuthorityKeyIdentifier(b"\x01" * 20, None, None), False)}, "ski-aki"),
        ({"policy": (_policy("2.23.146.1.2.1.4.99"), True)}, "policy"),
    ],
    ids=[
        "good",
        "cert-sign",
        "no-key-usage",
        "is-ca",
        "no-san",
        "no-ski",
        "no-aki",
        "aki-mismatch",
        "policy",
    ],
)
def test_profile_rules(nist, overrides, rule):
    cert = _dpauth_like(nist, **overrides)
    if rule is None:
        assert verify_chain(cert, [nist.cert("ci")], role="dpauth").role == "dpauth"
        return
    with pytest.raises(ChainError) as excinfo:
        verify_chain(cert, [nist.cert("ci")], role="dpauth")
    assert _rule(excinfo) == rule


def test_eum_that_is_not_a_ca_breaks_the_euicc_chain(nist):
    eum_key = generate_key("nist")
    eum = _custom(
        nist.cert("ci"), nist.key("ci"), subject_cn="not a CA EUM", key=eum_key,
        extensions=[
            (_aki(nist.cert("ci")), False),
            (x509.SubjectKeyIdentifier.from_public_key(eum_key.public_key()), False),
            (_ku(key_cert_sign=True), True),
            (_policy("2.23.146.1.2.1.2"), True),
        ],
    )  # fmt: skip
    leaf = issue_euicc_certificate(eum, eum_key, make_eid("89001012", 1), generate_key("nist").public_key())
    with pytest.raises(ChainError) as excinfo:
        verify_chain(leaf, [nist.cert("ci")], [eum])
    assert (_rule(excinfo), excinfo.value.role) == ("basic-constraints", "eum")


def test_non_sgp22_curve_is_an_algorithm_failure(nist):
    key = ec.generate_private_key(ec.SECP384R1())
    cert = _dpauth_like(nist, ski=(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    cert = _custom(
        nist.cert("ci"), nist.key("ci"), subject_cn="P-384", key=key,
        extensions=[(e.value, e.critical) for e in cert.extensions],
    )  # fmt: skip
    with pytest.raises(ChainError) as excinfo:
        verify_chain(cert, [nist.cert("ci")], role="dpauth")
    assert _rule(excinfo) == "algorithm"


def test_cached_eum_still_checks_every_euicc(nist):
    verifier = ChainVerifier()
    ci, eum, eum_key = nist.cert("ci"), nist.cert("eum"), nist.key("eum")
    key = generate_key("nist").public_key()
    leaves = [issue_euicc_certificate(eum, eum_key, make_eid("89001012", i), key) for i in range(5)]
    for i, leaf in enumerate(leaves):
        assert verifier.verify(leaf, [ci], [eum]).eid == make_eid("89001012", i)
    with pytest.raises(ChainError) as excinfo:  # cached EUM, tampered leaf
        verifier.verify(_tampered(leaves[0], in_signature=True), [ci], [eum])
    assert _rule(excinfo) == "signature"
    with pytest.raises(ChainError) as excinfo:  # cached EUM, but past its validity
        verifier.verify(leaves[1], [ci], [eum], at=datetime.now(UTC) + timedelta(days=31 * 365))
    assert _rule(excinfo) == "expired"
    with pytest.raises(ChainError) as excinfo:  # cached EUM, but its CI is no longer trusted
        verifier.verify(leaves[2], [issue_ci_certificate(generate_key("nist"))], [eum])
    assert _rule(excinfo) == "unknown-issuer"
