"""Key generation, curve detection, point encoding and loading keys from files."""

import itertools

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from openrsp.crypto.errors import CryptoError, KeyFormatError
from openrsp.crypto.keys import (
    POINT_SIZE,
    curve_of,
    curve_order,
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_from_scalar,
    private_key_to_scalar,
    public_key_from_point,
    public_key_to_point,
)

CURVE_FILE_TAG = {"nist": "NIST", "brp": "BRP"}


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_generated_key_is_on_the_asked_curve(curve):
    assert curve_of(generate_private_key(curve)) == curve
    assert curve_of(generate_private_key(curve).public_key()) == curve


def test_default_curve_is_nist():
    assert curve_of(generate_private_key()) == "nist"


def test_unknown_curve_name_is_refused():
    with pytest.raises(KeyFormatError, match="unknown curve"):
        generate_private_key("p384")


def test_fixed_rng_gives_the_same_key_twice():
    def rng(n: int) -> bytes:
        return bytes(range(1, n + 1))

    first, second = generate_private_key("brp", rng=rng), generate_private_key("brp", rng=rng)
    assert private_key_to_scalar(first) == private_key_to_scalar(second) == bytes(range(1, 33))


def test_rng_draws_again_when_the_scalar_is_out_of_range():
    draws = iter([b"\xff" * 32, bytes(32), bytes(31) + b"\x07"])
    key = generate_private_key("nist", rng=lambda n: next(draws))
    assert private_key_to_scalar(key) == bytes(31) + b"\x07"


def test_rng_that_never_gives_a_valid_scalar_is_an_error():
    with pytest.raises(CryptoError):
        generate_private_key("nist", rng=lambda n: bytes(n))


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_scalar_round_trip_and_range(curve):
    key = private_key_from_scalar(curve, 12345)
    assert private_key_to_scalar(key) == (12345).to_bytes(32, "big")
    assert private_key_to_scalar(private_key_from_scalar(curve, private_key_to_scalar(key))) == (
        12345
    ).to_bytes(32, "big")
    for bad in (0, curve_order(curve)):
        with pytest.raises(KeyFormatError):
            private_key_from_scalar(curve, bad)


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_point_round_trip(curve):
    key = generate_private_key(curve)
    point = public_key_to_point(key)
    assert len(point) == POINT_SIZE and point[0] == 0x04
    assert public_key_to_point(key.public_key()) == point
    assert public_key_to_point(public_key_from_point(curve, point)) == point


def test_point_on_one_curve_is_not_on_the_other():
    point = public_key_to_point(generate_private_key("nist"))
    with pytest.raises(KeyFormatError, match="not on curve"):
        public_key_from_point("brp", point)


@pytest.mark.parametrize(
    "point",
    [b"", bytes(65), b"\x04" + bytes(64), b"\x04" + b"\x01" * 64, b"\x02" + bytes(32), b"\x04" + bytes(63)],
    ids=["empty", "zero-prefix", "origin", "off-curve", "compressed", "short"],
)
def test_bad_points_are_refused(point):
    with pytest.raises(KeyFormatError):
        public_key_from_point("nist", point)


def test_non_ec_and_other_curve_keys_are_refused():
    with pytest.raises(KeyFormatError, match="not an EC key"):
        curve_of(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(KeyFormatError, match="unsupported curve"):
        curve_of(ec.generate_private_key(ec.SECP384R1()))


@pytest.mark.parametrize(("curve", "role"), list(itertools.product(["nist", "brp"], ["EUICC", "EUM"])))
def test_sgp26_keys_load_and_match(sgp26_dir, curve, role):
    tag = CURVE_FILE_TAG[curve]
    folder = "eUICC" if role == "EUICC" else "EUM"
    private = load_private_key(sgp26_dir / folder / f"SK_{role}_ECDSA_{tag}.pem")
    public = load_public_key(sgp26_dir / folder / f"PK_{role}_ECDSA_{tag}.pem")
    from_cert = load_public_key(sgp26_dir / folder / f"CERT_{role}_ECDSA_{tag}.der")
    assert curve_of(private) == curve_of(public) == curve
    assert public_key_to_point(private) == public_key_to_point(public) == public_key_to_point(from_cert)


def test_der_files_and_pem_certificates_load(tmp_path, sgp26_dir):
    key = generate_private_key("brp")
    pkcs8 = tmp_path / "key.der"
    pkcs8.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    sec1 = tmp_path / "key-sec1.der"
    sec1.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    spki = tmp_path / "pub.der"
    spki.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for path in (pkcs8, sec1):
        assert private_key_to_scalar(load_private_key(path)) == private_key_to_scalar(key)
    assert public_key_to_point(load_public_key(spki)) == public_key_to_point(key)
    ci_pem = load_public_key(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.pem")
    ci_der = load_public_key(sgp26_dir / "CertificateIssuer/CERT_CI_ECDSA_NIST.der")
    assert public_key_to_point(ci_pem) == public_key_to_point(ci_der)


def test_missing_and_garbage_files_give_clear_errors(tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(KeyFormatError, match="no such file"):
        load_private_key(missing)
    with pytest.raises(KeyFormatError, match="is a directory"):
        load_public_key(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFormatError, match="garbage.pem"):
        load_private_key(garbage)
    random_der = tmp_path / "random.der"
    random_der.write_bytes(bytes(range(100)))
    with pytest.raises(KeyFormatError):
        load_private_key(random_der)
    with pytest.raises(KeyFormatError):
        load_public_key(random_der)


def test_public_key_file_is_not_a_private_key(sgp26_dir):
    with pytest.raises(KeyFormatError):
        load_private_key(sgp26_dir / "EUM/PK_EUM_ECDSA_NIST.pem")
    with pytest.raises(KeyFormatError):
        load_public_key(sgp26_dir / "EUM/SK_EUM_ECDSA_NIST.pem")


def test_encrypted_non_ec_and_other_curve_key_files_are_refused(tmp_path):
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(
        generate_private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(KeyFormatError, match="encrypted"):
        load_private_key(encrypted)

    ed = tmp_path / "ed.pem"
    ed.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(KeyFormatError, match="not an EC private key"):
        load_private_key(ed)

    p384 = tmp_path / "p384.pem"
    p384.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(KeyFormatError, match="unsupported curve"):
        load_private_key(p384)
