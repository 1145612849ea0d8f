"""CertFacts reads what cryptography's look-ups read; the verifier keeps issuer facts bounded."""

import pytest
from pki_testdata import SGP26_CHAINS, SGP26_TIME

from openrsp.crypto.keys import public_key_to_point
from openrsp.errors import InputError
from openrsp.pki.certio import certificate_der, fingerprint, load_certificate
from openrsp.pki.curves import curve_of
from openrsp.pki.eid import eid_from_certificate, eid_range_violation, eum_range, range_violation
from openrsp.pki.facts import CertFacts
from openrsp.pki.roles import policies_of, role_of
from openrsp.pki.spki import uncompressed_point
from openrsp.pki.verify import ChainVerifier, aki_of, ski_of


def _same_facts(cert) -> None:
    facts = CertFacts(cert)
    assert facts.ski == ski_of(cert)
    assert facts.aki == aki_of(cert)
    assert facts.policies == frozenset(policies_of(cert))
    assert facts.role == role_of(cert)
    assert facts.fingerprint == fingerprint(cert)
    assert facts.curve == curve_of(cert.public_key())
    assert (facts.not_before, facts.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)
    try:
        expected = eid_from_certificate(cert)
    except InputError:
        with pytest.raises(InputError):
            facts.eid  # noqa: B018
        with pytest.raises(InputError):  # asked again: raises again
            facts.eid  # noqa: B018
    else:
        assert facts.eid == expected


@pytest.mark.parametrize("role", ["ci", "eum", "euicc", "dpauth", "dppb", "dsauth"])
def test_facts_of_our_certificates(pki, role):
    _same_facts(pki.cert(role))


@pytest.mark.parametrize("leaf", sorted(SGP26_CHAINS))
def test_facts_of_sgp26_certificates(sgp26_dir, leaf):
    _same_facts(load_certificate(sgp26_dir / leaf.format(c="NIST")))


def test_eum_range_splits_eid_range_violation(pki, sgp26_dir):
    """Our EUM restricts with permittedEins, the SGP.26 one with name constraints: both forms."""
    pairs = [
        (pki.cert("euicc"), pki.cert("eum")),
        (
            load_certificate(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der"),
            load_certificate(sgp26_dir / "EUM/CERT_EUM_ECDSA_NIST.der"),
        ),
    ]
    for euicc, eum in pairs:
        permitted = eum_range(eum)
        assert (permitted.eins is None) != (permitted.ranges is None)
        eid = eid_from_certificate(euicc)
        assert range_violation(euicc, eid, permitted) is None
        assert eid_range_violation(euicc, eum) is None
        outside = "0" * 32
        assert range_violation(euicc, outside, permitted) is not None


def test_issuer_facts_are_bounded_and_keyed_by_the_certificate(pki):
    verifier = ChainVerifier(cache_size=2)
    ci, euicc = pki.cert("ci"), pki.cert("euicc")
    eums = [pki.cert("eum") for _ in range(5)]  # equal certificates, five objects
    for eum in eums:
        chain = verifier.verify(euicc, [ci], [eum], role="euicc")
        assert chain.eid == eid_from_certificate(euicc)
        assert len(verifier._facts) <= 2
    kept = list(verifier._facts.values())
    assert all(any(f.cert is c for c in [ci, *eums]) for f in kept)


def test_verified_chain_window_is_the_intersection(pki, sgp26_dir):
    ci = load_certificate(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    eum = load_certificate(sgp26_dir / "EUM/CERT_EUM_ECDSA_NIST.der")
    euicc = load_certificate(sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der")
    chain = ChainVerifier().verify(euicc, [ci], [eum], role="euicc", at=SGP26_TIME)
    certs = (euicc, eum, ci)
    assert chain.valid_from == max(c.not_valid_before_utc for c in certs)
    assert chain.valid_until == min(c.not_valid_after_utc for c in certs)


def _point_cases(pki, sgp26_dir):
    yield from (pki.cert(role) for role in ("ci", "eum", "euicc", "dpauth", "dppb", "dsauth"))
    for curve in ("NIST", "BRP"):
        yield from (load_certificate(sgp26_dir / leaf.format(c=curve)) for leaf in SGP26_CHAINS)


def test_uncompressed_point_is_the_exported_point(pki, sgp26_dir):
    for cert in _point_cases(pki, sgp26_dir):
        assert uncompressed_point(certificate_der(cert)) == public_key_to_point(cert.public_key())


def test_uncompressed_point_of_malformed_input_is_none(pki):
    der = certificate_der(pki.cert("euicc"))
    for bad in (b"", b"\x30", der[:40], der[:-80], b"\x31" + der[1:], b"\x04" * 300):
        assert uncompressed_point(bad) is None
    spki_bits = der.index(public_key_to_point(pki.cert("euicc").public_key())) - 1
    compressed = bytearray(der)
    compressed[spki_bits + 1] = 0x02  # the point's form byte: no longer 04
    assert uncompressed_point(bytes(compressed)) is None
