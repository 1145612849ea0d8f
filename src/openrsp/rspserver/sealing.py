"""Encryption at rest: profile packages and Ki/OPc are sealed with AES-GCM under a key-encryption key.

A sealed blob is `01 || nonce(12) || ciphertext || tag(16)`. The associated data names what the
blob is and which profile it belongs to, so a blob copied onto another row does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openrsp.private_files import PrivateFileError, create_private_file, ensure_private_dir, read_private_file
from openrsp.rspserver.errors import ConfigError, RspServerError

_VERSION = b"\x01"
_NONCE_LEN = 12
KEK_LEN = 32


class SealError(RspServerError):
    """A sealed blob does not open: wrong key, wrong row, or damaged data."""


class SealKey(Protocol):
    """Where the AES-256-GCM key lives: in memory (SoftwareSealKey) or in a PKCS#11 token."""

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None: ...


class SoftwareSealKey:
    """The KEK as bytes in this process (from kek_file / kek_hex)."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEK_LEN:
            raise ConfigError(f"key-encryption key must be {KEK_LEN} bytes, got {len(kek)}")
        self._aead = AESGCM(kek)
        self.subkey_root = hmac.new(kek, b"openrsp-smdp/subkeys", hashlib.sha256).digest()

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            return None


def token_subkey_root(key: SealKey) -> bytes:
    """A 32-byte secret derived inside the token from its sealing key (AES-GCM of zeros under a
    nonce random sealing never picks in practice, hashed): what SoftwareSealKey gets from HMAC."""
    stream = key.encrypt(b"\x00" * _NONCE_LEN, b"\x00" * 32, b"openrsp-smdp/subkeys")
    return hashlib.sha256(b"openrsp-smdp/subkeys" + stream).digest()


class Sealer:
    """Seal and open blobs under one AES-256-GCM key (bytes, or a key that stays in a token)."""

    def __init__(self, kek: bytes | SealKey, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.key: SealKey = SoftwareSealKey(kek) if isinstance(kek, bytes) else kek
        self._rng = rng
        root = getattr(self.key, "subkey_root", None)
        self._subkey_root = root if isinstance(root, bytes) else token_subkey_root(self.key)
        self._subkeys: dict[str, bytes] = {}

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose, derived from the KEK (HMAC-SHA256): every worker and
        restart that holds the KEK derives the same one, and it reveals nothing of the KEK."""
        key = self._subkeys.get(purpose)
        if key is None:
            key = self._subkeys[purpose] = hmac.new(
                self._subkey_root, purpose.encode(), hashlib.sha256
            ).digest()
        return key

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = self._rng(_NONCE_LEN)
        return _VERSION + nonce + self.key.encrypt(nonce, plaintext, _aad(context))

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 1 + _NONCE_LEN + 16 or blob[:1] != _VERSION:
            raise SealError(f"sealed data for {context} is damaged")
        nonce, body = blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :]
        plaintext = self.key.decrypt(nonce, body, _aad(context))
        if plaintext is None:
            raise SealError(f"sealed data for {context} does not open with this key")
        return plaintext


def _aad(context: str) -> bytes:
    return b"openrsp-smdp/" + context.encode()


def parse_kek(text: str | bytes) -> bytes:
    """A KEK given as 64 hex digits (text) or as 32 raw bytes."""
    if isinstance(text, bytes):
        if len(text) == KEK_LEN:
            return text
        text = text.decode("ascii", errors="replace")
    cleaned = text.strip()
    try:
        kek = bytes.fromhex(cleaned)
    except ValueError:
        raise ConfigError("key-encryption key: expected 64 hex digits") from None
    if len(kek) != KEK_LEN:
        raise ConfigError(f"key-encryption key: expected {2 * KEK_LEN} hex digits, got {len(cleaned)}")
    return kek


def read_kek_file(path: Path) -> bytes:
    """The KEK of a key file; refused when group or others may read it (run `chmod 600`)."""
    try:
        return parse_kek(read_private_file(path, "key-encryption key file"))
    except PrivateFileError as exc:
        raise ConfigError(str(exc)) from None


def load_or_create_kek(path: Path, rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """Read the KEK file; create it (mode 0600, hex) when it does not exist yet.

    Written aside and hard-linked into place, so several workers starting at once never see a
    half-written key: the losers of the race read the winner's.
    """
    if not path.exists() and not path.is_symlink():
        ensure_private_dir(path.parent)
        kek = rng(KEK_LEN)
        if create_private_file(path, (kek.hex().upper() + "\n").encode()):
            return kek
    return read_kek_file(path)
