"""The SGP.22 BPP key derivation: session keys for SCP03t from the ECKA shared secret.

X9.63 KDF with SHA-256 (counter from 1, 32-bit big-endian, after the secret, then the shared info)
over shared info = keyType || keyLength || len(hostId) || hostId || len(EID) || EID. The 48 output
bytes are, in order, the initial MAC chaining value, S-ENC and S-MAC.
"""

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from openrsp.errors import InputError

KEY_TYPE_AES = 0x88  # controlRefTemplate keyType: AES
KEY_LENGTH = 16  # controlRefTemplate keyLength: AES-128
EID_LENGTH = 16


@dataclass(frozen=True)
class SessionKeys:
    """One set of SCP03t keys: the BSP session keys, or the profile protection keys (PPK)."""

    s_enc: bytes
    s_mac: bytes
    initial_mcv: bytes

    def __post_init__(self) -> None:
        for name in ("s_enc", "s_mac", "initial_mcv"):
            if len(getattr(self, name)) != KEY_LENGTH:
                raise InputError(f"{name} must be {KEY_LENGTH} bytes")


def bsp_shared_info(
    host_id: bytes, eid: bytes, *, key_type: int = KEY_TYPE_AES, key_length: int = KEY_LENGTH
) -> bytes:
    """keyType || keyLength || len(hostId) || hostId || len(EID) || EID."""
    # hostId is OCTET STRING (SIZE(1..16)); one length byte suffices for both fields.
    if not 1 <= len(host_id) <= 16:
        raise InputError(f"hostId must be 1 to 16 bytes, got {len(host_id)}")
    if len(eid) != EID_LENGTH:
        raise InputError(f"EID must be {EID_LENGTH} bytes, got {len(eid)}")
    return bytes([key_type, key_length, len(host_id)]) + host_id + bytes([len(eid)]) + eid


def derive_session_keys(shared_secret: bytes, host_id: bytes, eid: bytes) -> SessionKeys:
    """S-ENC, S-MAC and the initial MAC chaining value for one bound profile package."""
    kdf = X963KDF(algorithm=hashes.SHA256(), length=3 * KEY_LENGTH, sharedinfo=bsp_shared_info(host_id, eid))
    out = kdf.derive(shared_secret)
    return SessionKeys(
        initial_mcv=out[:KEY_LENGTH],
        s_enc=out[KEY_LENGTH : 2 * KEY_LENGTH],
        s_mac=out[2 * KEY_LENGTH :],
    )
