"""UMTS/EPS AKA around Milenage (3GPP TS 33.102 section 6.3): AUTN, its check on the card, AUTS.

Network (HSS/AuC): generate_vector() -> RAND, XRES, CK, IK, AUTN = (SQN xor AK) || AMF || MAC-A.
Card (USIM): verify_autn() checks MAC-A and SQN freshness; it answers RES/CK/IK, or a sync
failure carrying AUTS = (SQN_MS xor AK*) || MAC-S (MAC-S computed with AMF 0000).
Network again: recover_sqn_ms() checks MAC-S and gives back SQN_MS to resynchronise.

SQNs are ints (48 bits). The card state (highest SQN accepted, SQN_MS) is the caller's to keep:
these functions are pure.
"""

import hmac
from dataclasses import dataclass

from openrsp.crypto.errors import AkaMacError
from openrsp.crypto.milenage import AMF_SIZE, SQN_SIZE, f1, f1_star, f5, f5_star, milenage
from openrsp.errors import InputError

SQN_MAX = (1 << (8 * SQN_SIZE)) - 1
AUTN_SIZE = SQN_SIZE + AMF_SIZE + 8
AUTS_SIZE = SQN_SIZE + 8
RESYNC_AMF = bytes(AMF_SIZE)  # TS 33.102 6.3.3: MAC-S uses a dummy AMF of all zeros


@dataclass(frozen=True)
class AuthenticationVector:
    """What the HSS hands to the serving network for one authentication."""

    rand: bytes
    xres: bytes
    ck: bytes
    ik: bytes
    autn: bytes


@dataclass(frozen=True)
class AkaSuccess:
    """The card accepted AUTN: answer RES; `sqn` is the new highest accepted SQN to store."""

    res: bytes
    ck: bytes
    ik: bytes
    sqn: int
    amf: bytes


@dataclass(frozen=True)
class AkaSyncFailure:
    """AUTN was authentic but its SQN not fresh: send AUTS so the network can resynchronise."""

    auts: bytes


def _sqn_bytes(sqn: int, name: str = "SQN") -> bytes:
    if not 0 <= sqn <= SQN_MAX:
        raise InputError(f"{name} must be between 0 and {SQN_MAX}")
    return sqn.to_bytes(SQN_SIZE, "big")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def build_autn(k: bytes, opc: bytes, rand: bytes, sqn: int, amf: bytes) -> bytes:
    """AUTN = (SQN xor AK) || AMF || MAC-A (16 bytes)."""
    sqn_b = _sqn_bytes(sqn)
    return _xor(sqn_b, f5(k, opc, rand)) + amf + f1(k, opc, rand, sqn_b, amf)


def generate_vector(k: bytes, opc: bytes, rand: bytes, sqn: int, amf: bytes) -> AuthenticationVector:
    """Network side: one authentication vector for `sqn`."""
    out = milenage(k, opc, rand, _sqn_bytes(sqn), amf)
    autn = _xor(_sqn_bytes(sqn), out.ak) + amf + out.mac_a
    return AuthenticationVector(rand=rand, xres=out.res, ck=out.ck, ik=out.ik, autn=autn)


def build_auts(k: bytes, opc: bytes, rand: bytes, sqn_ms: int) -> bytes:
    """AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S = f1*(K, SQN_MS, RAND, AMF 0000) (14 bytes)."""
    sqn_ms_b = _sqn_bytes(sqn_ms, "SQN_MS")
    return _xor(sqn_ms_b, f5_star(k, opc, rand)) + f1_star(k, opc, rand, sqn_ms_b, RESYNC_AMF)


def verify_autn(
    k: bytes, opc: bytes, rand: bytes, autn: bytes, *, sqn_ms: int, max_delta: int | None = None
) -> AkaSuccess | AkaSyncFailure:
    """Card side: check AUTN against the card's highest accepted SQN (`sqn_ms`).

    A SQN is fresh when it is greater than `sqn_ms` and, if `max_delta` is given, at most that much
    greater (TS 33.102 Annex C's limit on how far ahead the network may jump). Raises AkaMacError
    when MAC-A is wrong: the card then rejects the network rather than resynchronising.
    """
    if len(autn) != AUTN_SIZE:
        raise InputError(f"AUTN must be {AUTN_SIZE} bytes")
    _sqn_bytes(sqn_ms, "SQN_MS")
    concealed, amf, mac_a = autn[:SQN_SIZE], autn[SQN_SIZE : SQN_SIZE + AMF_SIZE], autn[SQN_SIZE + AMF_SIZE :]
    sqn_b = _xor(concealed, f5(k, opc, rand))
    out = milenage(k, opc, rand, sqn_b, amf)
    if not hmac.compare_digest(out.mac_a, mac_a):
        raise AkaMacError("AUTN: MAC-A does not verify (wrong K/OPc, or not from our network)")
    sqn = int.from_bytes(sqn_b, "big")
    fresh = sqn > sqn_ms and (max_delta is None or sqn - sqn_ms <= max_delta)
    if not fresh:
        return AkaSyncFailure(auts=build_auts(k, opc, rand, sqn_ms))
    return AkaSuccess(res=out.res, ck=out.ck, ik=out.ik, sqn=sqn, amf=amf)


def recover_sqn_ms(k: bytes, opc: bytes, rand: bytes, auts: bytes) -> int:
    """Network side: SQN_MS from AUTS, after checking its MAC-S (raises AkaMacError if wrong).

    `rand` is the RAND of the challenge the card answered with this AUTS.
    """
    if len(auts) != AUTS_SIZE:
        raise InputError(f"AUTS must be {AUTS_SIZE} bytes")
    sqn_ms_b = _xor(auts[:SQN_SIZE], f5_star(k, opc, rand))
    if not hmac.compare_digest(f1_star(k, opc, rand, sqn_ms_b, RESYNC_AMF), auts[SQN_SIZE:]):
        raise AkaMacError("AUTS: MAC-S does not verify")
    return int.from_bytes(sqn_ms_b, "big")
