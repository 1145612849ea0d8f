"""AKA around Milenage: AUTN on the network, its check on the card, resynchronisation with AUTS."""

import pytest

from openrsp.crypto.aka import (
    AkaSuccess,
    AkaSyncFailure,
    build_autn,
    build_auts,
    generate_vector,
    recover_sqn_ms,
    verify_autn,
)
from openrsp.crypto.errors import AkaMacError
from openrsp.crypto.milenage import f1_star
from openrsp.errors import InputError

h = bytes.fromhex

# TS 35.208 test set 1.
K = h("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = h("cd63cb71954a9f4e48a5994e37a02baf")
RAND = h("23553cbe9637a89d218ae64dae47bf35")
SQN = 0xFF9BB4D0B607
AMF = h("b9b9")
MAC_A = h("4a9ffac354dfafb3")
RES, CK, IK = (
    h("a54211d5e3ba50bf"),
    h("b40ba9a3c58b2a05bbf0d987b21bf8cb"),
    h("f769bcd751044604127672711c6d3441"),
)
AK, AK_STAR = h("aa689c648370"), h("451e8beca43b")

# TS 35.208 test set 20 (the AUTS vectors below use its K / OPc).
K20 = h("90dca4eda45b53cf0f12d7c9c3bc6a89")
OPC20 = h("cb9cccc4b9258e6dca4760379fb82581")
RAND20 = h("9fddc72092c6ad036b6e464789315b78")


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def test_autn_is_concealed_sqn_amf_mac_a():
    autn = build_autn(K, OPC, RAND, SQN, AMF)
    assert autn == xor(SQN.to_bytes(6, "big"), AK) + AMF + MAC_A
    assert autn == h("55f328b43577b9b94a9ffac354dfafb3")


def test_authentication_vector():
    vector = generate_vector(K, OPC, RAND, SQN, AMF)
    assert (vector.rand, vector.xres, vector.ck, vector.ik) == (RAND, RES, CK, IK)
    assert vector.autn == build_autn(K, OPC, RAND, SQN, AMF)


def test_card_accepts_fresh_autn_and_answers_res_ck_ik():
    result = verify_autn(K, OPC, RAND, build_autn(K, OPC, RAND, SQN, AMF), sqn_ms=SQN - 1)
    assert result == AkaSuccess(res=RES, ck=CK, ik=IK, sqn=SQN, amf=AMF)


@pytest.mark.parametrize("sqn_ms", [SQN, SQN + 1, 0xFFFFFFFFFFFF], ids=["replay", "older", "max"])
def test_card_answers_stale_sqn_with_auts_the_network_can_read(sqn_ms):
    result = verify_autn(K, OPC, RAND, build_autn(K, OPC, RAND, SQN, AMF), sqn_ms=sqn_ms)
    assert isinstance(result, AkaSyncFailure)
    assert len(result.auts) == 14
    assert result.auts[:6] == xor(sqn_ms.to_bytes(6, "big"), AK_STAR)
    assert recover_sqn_ms(K, OPC, RAND, result.auts) == sqn_ms


def test_resync_round_trip_then_fresh_vector_is_accepted():
    card_sqn_ms = 1000
    stale = generate_vector(K, OPC, RAND, 10, AMF)
    failure = verify_autn(K, OPC, RAND, stale.autn, sqn_ms=card_sqn_ms)
    assert isinstance(failure, AkaSyncFailure)
    network_sqn = recover_sqn_ms(K, OPC, RAND, failure.auts) + 1
    fresh = generate_vector(K, OPC, RAND20[::-1], network_sqn, AMF)
    result = verify_autn(K, OPC, RAND20[::-1], fresh.autn, sqn_ms=card_sqn_ms)
    assert isinstance(result, AkaSuccess)
    assert (result.res, result.sqn) == (fresh.xres, 1001)


def test_sqn_too_far_ahead_is_a_sync_failure_when_limited():
    autn = build_autn(K, OPC, RAND, 5000, AMF)
    assert isinstance(verify_autn(K, OPC, RAND, autn, sqn_ms=100, max_delta=4900), AkaSuccess)
    assert isinstance(verify_autn(K, OPC, RAND, autn, sqn_ms=99, max_delta=4900), AkaSyncFailure)


@pytest.mark.parametrize("index", [0, 5, 6, 7, 8, 15], ids=["sqn0", "sqn5", "amf0", "amf1", "mac0", "mac7"])
def test_tampered_autn_is_a_mac_failure(index):
    autn = bytearray(build_autn(K, OPC, RAND, SQN, AMF))
    autn[index] ^= 0x01
    with pytest.raises(AkaMacError):
        verify_autn(K, OPC, RAND, bytes(autn), sqn_ms=0)


def test_autn_for_another_key_is_a_mac_failure():
    autn = build_autn(K20, OPC20, RAND, SQN, AMF)
    with pytest.raises(AkaMacError):
        verify_autn(K, OPC, RAND, autn, sqn_ms=0)


def test_auts_uses_dummy_amf_zero_for_mac_s():
    # MAC-S = f1*(K, SQN_MS, RAND, AMF 0000): independent of the AMF of the rejected AUTN.
    auts = build_auts(K, OPC, RAND, SQN)
    assert auts == xor(SQN.to_bytes(6, "big"), AK_STAR) + f1_star(
        K, OPC, RAND, SQN.to_bytes(6, "big"), b"\0\0"
    )


def test_published_auts_from_hostap_tests():
    # hostap tests/test-milenage.c: AUTS for test set 20 (SQN_MS = 1) and one from a test USIM.
    auts = h("4f2039392ddd") + h("4bb4316ed4a14688")
    assert recover_sqn_ms(K20, OPC20, RAND20, auts) == 1
    assert build_auts(K20, OPC20, RAND20, 1) == auts
    usim_auts = h("43681ad3daf006bcde405a207267")
    sqn_ms = recover_sqn_ms(K20, OPC20, b"\xaa" * 16, usim_auts)
    assert build_auts(K20, OPC20, b"\xaa" * 16, sqn_ms) == usim_auts


def test_tampered_auts_is_a_mac_failure():
    auts = bytearray(build_auts(K, OPC, RAND, 42))
    auts[-1] ^= 0x01
    with pytest.raises(AkaMacError):
        recover_sqn_ms(K, OPC, RAND, bytes(auts))
    with pytest.raises(AkaMacError):
        recover_sqn_ms(K, OPC, RAND20, build_auts(K, OPC, RAND, 42))


def test_bad_lengths_and_ranges_are_input_errors():
    with pytest.raises(InputError):
        build_autn(K, OPC, RAND, 1 << 48, AMF)
    with pytest.raises(InputError):
        build_autn(K, OPC, RAND, -1, AMF)
    with pytest.raises(InputError):
        verify_autn(K, OPC, RAND, bytes(15), sqn_ms=0)
    with pytest.raises(InputError):
        recover_sqn_ms(K, OPC, RAND, bytes(13))
    with pytest.raises(InputError):
        build_auts(K, OPC, RAND, 1 << 48)
