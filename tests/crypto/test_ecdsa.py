"""Plain (r||s) ECDSA on both SGP.22 curves, the DER bridge, and real SGP.26 signatures."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.crypto.ecdsa import (
    PLAIN_SIGNATURE_SIZE,
    der_to_plain,
    generate_private_key,
    load_private_key,
    load_public_key,
    plain_to_der,
    sign_plain,
    verify_plain,
)
from openrsp.crypto.errors import KeyFormatError, SignatureFormatError
from openrsp.crypto.keys import curve_order

CURVES = ["nist", "brp"]
CURVE_FILE_TAG = {"nist": "NIST", "brp": "BRP"}


@pytest.fixture(scope="module", params=CURVES)
def curve(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def key(curve):
    return generate_private_key(curve)


def test_sign_then_verify(key):
    signature = sign_plain(key, b"euiccSigned1")
    assert len(signature) == PLAIN_SIGNATURE_SIZE
    assert verify_plain(key.public_key(), b"euiccSigned1", signature)


def test_changed_data_or_signature_does_not_verify(key):
    signature = sign_plain(key, b"serverSigned1")
    assert not verify_plain(key.public_key(), b"serverSigned2", signature)
    for index in (0, 31, 32, 63):
        tampered = bytearray(signature)
        tampered[index] ^= 0x01
        assert not verify_plain(key.public_key(), b"serverSigned1", bytes(tampered))


def test_other_key_on_same_curve_does_not_verify(key, curve):
    signature = sign_plain(key, b"data")
    assert not verify_plain(generate_private_key(curve).public_key(), b"data", signature)


def test_signature_from_other_curve_does_not_verify():
    nist, brp = generate_private_key("nist"), generate_private_key("brp")
    assert not verify_plain(brp.public_key(), b"data", sign_plain(nist, b"data"))
    assert not verify_plain(nist.public_key(), b"data", sign_plain(brp, b"data"))


def test_random_nonce_by_default_and_reproducible_when_deterministic(key):
    assert sign_plain(key, b"data") != sign_plain(key, b"data")
    first = sign_plain(key, b"data", deterministic=True)
    assert first == sign_plain(key, b"data", deterministic=True)
    assert verify_plain(key.public_key(), b"data", first)


@pytest.mark.parametrize(
    "signature",
    [b"", bytes(63), bytes(65), bytes(64), b"\xff" * 64],
    ids=["empty", "63-bytes", "65-bytes", "zero-r-s", "r-s-too-big"],
)
def test_malformed_plain_signature_is_false_not_a_crash(key, signature):
    assert verify_plain(key.public_key(), b"data", signature) is False


def test_r_equal_to_group_order_does_not_verify(key, curve):
    good = sign_plain(key, b"data")
    bad = curve_order(curve).to_bytes(32, "big") + good[32:]
    assert verify_plain(key.public_key(), b"data", bad) is False


def test_plain_signature_is_accepted_by_a_der_verifier(key):
    signature = sign_plain(key, b"interop")
    key.public_key().verify(plain_to_der(signature), b"interop", ec.ECDSA(hashes.SHA256()))


def test_der_signature_from_cryptography_verifies_as_plain(key):
    der = key.sign(b"interop", ec.ECDSA(hashes.SHA256()))
    assert verify_plain(key.public_key(), b"interop", der_to_plain(der))


def test_plain_der_conversion_known_encodings():
    # Small values: DER drops leading zeros, plain keeps fixed 32-byte fields.
    small = bytes(31) + b"\x01" + bytes(31) + b"\x02"
    assert plain_to_der(small) == bytes.fromhex("3006020101020102")
    assert der_to_plain(bytes.fromhex("3006020101020102")) == small
    # High bit set: DER needs a 00 sign byte.
    high = b"\x80" + bytes(31) + b"\x7f" + bytes(31)
    der = plain_to_der(high)
    assert der == bytes.fromhex("3045022100") + high[:32] + bytes.fromhex("0220") + high[32:]
    assert der_to_plain(der) == high


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_plain_to_der_rejects_wrong_length(length):
    with pytest.raises(SignatureFormatError):
        plain_to_der(bytes(length))


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30\x00",
        bytes.fromhex("3006020101020102ff"),
        bytes.fromhex("300602010102"),
        bytes.fromhex("3026022101") + bytes(32) + bytes.fromhex("020101"),
    ],
    ids=["empty", "empty-seq", "trailing", "one-int", "r-33-bytes"],
)
def test_der_to_plain_rejects_malformed(der):
    with pytest.raises(SignatureFormatError):
        der_to_plain(der)


SGP26_CERTS_SIGNED_BY_CI = [
    "CertificateIssuer/CERT_CI_ECDSA_{c}.der",
    "EUM/CERT_EUM_ECDSA_{c}.der",
    "DPauth/CERT_S_SM_DPauth_ECDSA_{c}.der",
    "DPauth/CERT_S_SM_DP2auth_ECDSA_{c}.der",
    "DPpb/CERT_S_SM_DPpb_ECDSA_{c}.der",
    "DPpb/CERT_S_SM_DP2pb_ECDSA_{c}.der",
    "DPtls/CERT_S_SM_DP_VARO_TLS_{c}.der",
]


@pytest.mark.parametrize("path", SGP26_CERTS_SIGNED_BY_CI)
def test_sgp26_certificates_verify_against_the_ci_key(sgp26_dir, curve, path):
    tag = CURVE_FILE_TAG[curve]
    ci_public = load_public_key(sgp26_dir / f"CertificateIssuer/CERT_CI_ECDSA_{tag}.der")
    cert = x509.load_der_x509_certificate((sgp26_dir / path.format(c=tag)).read_bytes())
    signature = der_to_plain(cert.signature)
    assert verify_plain(ci_public, cert.tbs_certificate_bytes, signature)
    assert not verify_plain(ci_public, cert.tbs_certificate_bytes + b"\x00", signature)


def test_sgp26_euicc_certificate_verifies_against_the_eum_key(sgp26_dir, curve):
    tag = CURVE_FILE_TAG[curve]
    eum_public = load_public_key(sgp26_dir / f"EUM/PK_EUM_ECDSA_{tag}.pem")
    ci_public = load_public_key(sgp26_dir / f"CertificateIssuer/CERT_CI_ECDSA_{tag}.pem")
    cert = x509.load_der_x509_certificate((sgp26_dir / f"eUICC/CERT_EUICC_ECDSA_{tag}.der").read_bytes())
    assert verify_plain(eum_public, cert.tbs_certificate_bytes, der_to_plain(cert.signature))
    assert not verify_plain(ci_public, cert.tbs_certificate_bytes, der_to_plain(cert.signature))


def test_sgp26_ci_private_key_signs_what_its_certificate_verifies(sgp26_dir, curve):
    tag = CURVE_FILE_TAG[curve]
    ci_private = load_private_key(sgp26_dir / f"CertificateIssuer/SK_CI_ECDSA_{tag}.pem")
    ci_public = load_public_key(sgp26_dir / f"CertificateIssuer/CERT_CI_ECDSA_{tag}.der")
    assert verify_plain(ci_public, b"hello", sign_plain(ci_private, b"hello"))


def test_keys_on_other_curves_are_refused():
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyFormatError, match="unsupported curve"):
        sign_plain(p384, b"data")
    with pytest.raises(KeyFormatError, match="unsupported curve"):
        verify_plain(p384.public_key(), b"data", bytes(64))
