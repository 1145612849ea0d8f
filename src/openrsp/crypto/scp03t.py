"""SCP03t segment protection primitives (GlobalPlatform Amd F, as SGP.22's BSP uses them).

Pure bytes: the channel state both ends keep (keys, MAC chaining value, block counter), AES-CBC with
the counter-derived ICV, the chained AES-CMAC, and the 80 00.. padding. Which bytes form a segment
(tags, lengths, the order of a bound profile package) is ES8+ business: openrsp.es8.bsp.

- the block counter starts at 1 and is advanced by EVERY segment, MAC-only ones included; the ICV
  of an encrypted segment is AES-ECB(S-ENC, counter as a 16-byte big-endian block);
- each segment's C-MAC is AES-CMAC(S-MAC, MCV || header || data) truncated to 8 bytes, and the full
  16-byte CMAC becomes the next MCV.
"""

from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from openrsp.crypto.errors import BspStructureError
from openrsp.crypto.kdf import SessionKeys

MAC_SIZE = 8
BLOCK_SIZE = 16


def pad(data: bytes) -> bytes:
    """80 then 00s up to a multiple of 16 (always adds at least one byte)."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % BLOCK_SIZE)


def unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= BLOCK_SIZE:
        raise BspStructureError("bad padding in decrypted segment")
    return stripped[:-1]


class ChannelState:
    """Keys, MAC chaining value and block counter: identical on both sides of the channel."""

    def __init__(self, keys: SessionKeys) -> None:
        self.switch_keys(keys)

    def switch_keys(self, keys: SessionKeys) -> None:
        self.keys = keys
        self.mcv = keys.initial_mcv
        self.block_counter = 1
        # Keyed once per key set, on first use: ECB holds no state between blocks, and a CMAC copy
        # starts fresh. (The SM-DP+ switches to a profile's PPK and then sends segments protected
        # at import: those keys never protect anything here.)
        self._icv_cipher: Any = None
        self._cmac: CMAC | None = None

    def icv(self) -> bytes:
        if self._icv_cipher is None:
            self._icv_cipher = Cipher(algorithms.AES(self.keys.s_enc), modes.ECB()).encryptor()
        return self._icv_cipher.update(self.block_counter.to_bytes(BLOCK_SIZE, "big"))

    def full_mac(self, header: bytes, data: bytes) -> bytes:
        if self._cmac is None:
            self._cmac = CMAC(algorithms.AES(self.keys.s_mac))
        cmac = self._cmac.copy()
        cmac.update(self.mcv + header + data)
        return cmac.finalize()

    def advance(self, full_mac: bytes) -> None:
        self.mcv = full_mac
        self.block_counter += 1

    def encrypt(self, plaintext: bytes) -> bytes:
        encryptor = Cipher(algorithms.AES(self.keys.s_enc), modes.CBC(self.icv())).encryptor()
        return encryptor.update(pad(plaintext)) + encryptor.finalize()

    def decrypt(self, ciphertext: bytes) -> bytes:
        decryptor = Cipher(algorithms.AES(self.keys.s_enc), modes.CBC(self.icv())).decryptor()
        return unpad(decryptor.update(ciphertext) + decryptor.finalize())
