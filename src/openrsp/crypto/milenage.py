"""Milenage, the 3GPP example authentication and key-generation functions (3GPP TS 35.206).

With K (subscriber key) and OPc (operator variant, K-specific) every function is AES-128 under K:

    TEMP = E_K(RAND xor OPc)
    OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc, IN1 = SQN || AMF || SQN || AMF
    OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc                         for i = 2..5

f1 = MAC-A = OUT1[0:8], f1* = MAC-S = OUT1[8:16], f2 = RES = OUT2[8:16], f5 = AK = OUT2[0:6],
f3 = CK = OUT3, f4 = IK = OUT4, f5* = AK* = OUT5[0:6]; OPc = E_K(OP) xor OP.
Constants are the standard ones: r1..r5 = 64, 0, 32, 64, 96 bits; c1..c5 = 0, 1, 2, 4, 8.
"""

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openrsp.errors import InputError

KEY_SIZE = 16
RAND_SIZE = 16
SQN_SIZE = 6
AMF_SIZE = 2

# (rotation in bits, constant's last byte) for OUT1..OUT5; the constants are zero but for that byte.
_R_C = {1: (64, 0x00), 2: (0, 0x01), 3: (32, 0x02), 4: (64, 0x04), 5: (96, 0x08)}


@dataclass(frozen=True)
class MilenageOutputs:
    mac_a: bytes  # f1, 8 bytes
    mac_s: bytes  # f1*, 8 bytes
    res: bytes  # f2, 8 bytes
    ck: bytes  # f3, 16 bytes
    ik: bytes  # f4, 16 bytes
    ak: bytes  # f5, 6 bytes
    ak_star: bytes  # f5*, 6 bytes


def _check(value: bytes, size: int, name: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != size:
        raise InputError(f"{name} must be {size} bytes")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _rotate(block: bytes, bits: int) -> bytes:
    """Cyclic left rotation of a 128-bit block (TS 35.206 rot(x, r))."""
    value = int.from_bytes(block, "big")
    bits %= 128
    rotated = ((value << bits) | (value >> (128 - bits))) & ((1 << 128) - 1)
    return rotated.to_bytes(16, "big")


def _aes(k: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def compute_opc(k: bytes, op: bytes) -> bytes:
    """OPc = E_K(OP) xor OP."""
    _check(k, KEY_SIZE, "K")
    _check(op, KEY_SIZE, "OP")
    return _xor(_aes(k, op), op)


def _temp(k: bytes, opc: bytes, rand: bytes) -> bytes:
    _check(k, KEY_SIZE, "K")
    _check(opc, KEY_SIZE, "OPc")
    _check(rand, RAND_SIZE, "RAND")
    return _aes(k, _xor(rand, opc))


def _out(k: bytes, opc: bytes, temp: bytes, index: int) -> bytes:
    """OUT2..OUT5 (they do not depend on SQN or AMF)."""
    rotation, constant = _R_C[index]
    block = _xor(_rotate(_xor(temp, opc), rotation), bytes(15) + bytes([constant]))
    return _xor(_aes(k, block), opc)


def _out1(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    _check(sqn, SQN_SIZE, "SQN")
    _check(amf, AMF_SIZE, "AMF")
    temp = _temp(k, opc, rand)
    in1 = (sqn + amf) * 2
    rotation, constant = _R_C[1]
    block = _xor(_xor(temp, _rotate(_xor(in1, opc), rotation)), bytes(15) + bytes([constant]))
    return _xor(_aes(k, block), opc)


def f1(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    """MAC-A, the network authentication code (8 bytes)."""
    return _out1(k, opc, rand, sqn, amf)[:8]


def f1_star(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    """MAC-S, the resynchronisation authentication code (8 bytes)."""
    return _out1(k, opc, rand, sqn, amf)[8:]


def f2(k: bytes, opc: bytes, rand: bytes) -> bytes:
    """RES (8 bytes)."""
    return _out(k, opc, _temp(k, opc, rand), 2)[8:]


def f3(k: bytes, opc: bytes, rand: bytes) -> bytes:
    """CK, the cipher key (16 bytes)."""
    return _out(k, opc, _temp(k, opc, rand), 3)


def f4(k: bytes, opc: bytes, rand: bytes) -> bytes:
    """IK, the integrity key (16 bytes)."""
    return _out(k, opc, _temp(k, opc, rand), 4)


def f5(k: bytes, opc: bytes, rand: bytes) -> bytes:
    """AK, the anonymity key that hides SQN in AUTN (6 bytes)."""
    return _out(k, opc, _temp(k, opc, rand), 2)[:6]


def f5_star(k: bytes, opc: bytes, rand: bytes) -> bytes:
    """AK*, the anonymity key that hides SQN_MS in AUTS (6 bytes)."""
    return _out(k, opc, _temp(k, opc, rand), 5)[:6]


def milenage(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> MilenageOutputs:
    """All seven Milenage outputs for one RAND / SQN / AMF."""
    out1 = _out1(k, opc, rand, sqn, amf)
    temp = _temp(k, opc, rand)
    out2 = _out(k, opc, temp, 2)
    return MilenageOutputs(
        mac_a=out1[:8],
        mac_s=out1[8:],
        res=out2[8:],
        ck=_out(k, opc, temp, 3),
        ik=_out(k, opc, temp, 4),
        ak=out2[:6],
        ak_star=_out(k, opc, temp, 5)[:6],
    )
