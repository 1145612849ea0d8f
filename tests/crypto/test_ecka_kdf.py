"""ECKA shared secret and the BPP session-key derivation against the published vectors."""

import pytest

from openrsp.crypto.ecka import generate_one_time_key, shared_secret
from openrsp.crypto.errors import CurveMismatchError, KeyFormatError
from openrsp.crypto.kdf import SessionKeys, bsp_shared_info, derive_session_keys
from openrsp.crypto.keys import private_key_from_scalar, public_key_from_point, public_key_to_point
from openrsp.errors import InputError


def test_vector_1_shared_secret_from_the_euicc_point(vec):
    dp_otsk = private_key_from_scalar("nist", vec.DP_OTSK)
    assert public_key_to_point(dp_otsk) == vec.DP_OTPK  # the vector is self-consistent
    assert shared_secret(dp_otsk, vec.EUICC_OTPK) == vec.SHARED_SECRET_A
    assert shared_secret(dp_otsk, public_key_from_point("nist", vec.EUICC_OTPK)) == vec.SHARED_SECRET_A


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_both_sides_agree(curve):
    euicc, smdp = generate_one_time_key(curve), generate_one_time_key(curve)
    from_euicc = shared_secret(euicc, public_key_to_point(smdp))
    assert from_euicc == shared_secret(smdp, euicc.public_key())
    assert len(from_euicc) == 32


def test_one_time_keys_can_be_pinned():
    def rng(n: int) -> bytes:
        return b"\x42" * n

    assert public_key_to_point(generate_one_time_key("brp", rng=rng)) == public_key_to_point(
        generate_one_time_key("brp", rng=rng)
    )


def test_keys_on_different_curves_are_refused():
    with pytest.raises(CurveMismatchError):
        shared_secret(generate_one_time_key("nist"), generate_one_time_key("brp").public_key())


def test_peer_point_not_on_our_curve_is_refused(vec):
    with pytest.raises(KeyFormatError):
        shared_secret(generate_one_time_key("brp"), vec.EUICC_OTPK)
    with pytest.raises(KeyFormatError):
        shared_secret(generate_one_time_key("nist"), b"\x04" + b"\x01" * 64)


def test_shared_info_layout(vec):
    assert bsp_shared_info(vec.HOST_ID, vec.EID_A) == (
        bytes.fromhex("88 10 08 8080808080808080 10") + vec.EID_A
    )


def test_vector_a_session_keys(vec):
    assert derive_session_keys(vec.SHARED_SECRET_A, vec.HOST_ID, vec.EID_A) == vec.KEYS_A


def test_vector_b_session_keys(vec):
    assert derive_session_keys(vec.SHARED_SECRET_B, vec.HOST_ID, vec.EID_B) == vec.KEYS_B


def test_ecka_to_session_keys_end_to_end(vec):
    secret = shared_secret(private_key_from_scalar("nist", vec.DP_OTSK), vec.EUICC_OTPK)
    keys = derive_session_keys(secret, vec.HOST_ID, vec.EID_A)
    assert (keys.s_enc, keys.s_mac, keys.initial_mcv) == (
        bytes.fromhex("472f5bfadd97f21d34f3ce9b51b92751"),
        bytes.fromhex("9ec07f5b36a13e12a991d66e294e6242"),
        bytes.fromhex("406d507b448a699e7a36a38494debbde"),
    )


def test_host_id_and_eid_change_the_keys(vec):
    base = derive_session_keys(vec.SHARED_SECRET_A, vec.HOST_ID, vec.EID_A)
    assert derive_session_keys(vec.SHARED_SECRET_A, b"mahlzeit", vec.EID_A) != base
    assert derive_session_keys(vec.SHARED_SECRET_A, vec.HOST_ID, vec.EID_B) != base


@pytest.mark.parametrize(
    ("host_id", "eid"),
    [(b"", bytes(16)), (bytes(17), bytes(16)), (b"host", bytes(15)), (b"host", bytes(17))],
    ids=["empty-host", "long-host", "short-eid", "long-eid"],
)
def test_bad_host_id_or_eid_is_an_input_error(host_id, eid):
    with pytest.raises(InputError):
        derive_session_keys(bytes(32), host_id, eid)


def test_session_keys_must_be_16_bytes():
    with pytest.raises(InputError):
        SessionKeys(s_enc=bytes(15), s_mac=bytes(16), initial_mcv=bytes(16))
