"""Ki and OPc at rest: sealed inside state.json under a key of this card only, kept in DIR/state.key.

A copied state.json alone gives the subscriber keys away no more: each profile's `aka` keeps its
algorithm and SQN in clear and holds Ki/OPc as `sealed`, AES-256-GCM under the card's key with the
EID and ICCID as associated data (a sealed value moved to another profile or card does not open).

The nonce is synthetic (HMAC of the associated data and the plaintext under a second key derived
from the card's key): sealing the same Ki/OPc again gives the same bytes, so a write that changes
nothing else leaves state.json as it was (other processes compare it, tests compare it), and only
equal secrets of the same profile ever share a nonce.

The key file is made 0600 with O_EXCL, read with O_NOFOLLOW, and refused when group or others may
read it. A state written before sealing existed (Ki/OPc in clear) is sealed the first time it is
opened (store.StateFile.load).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openrsp.euicc.state import StateError
from openrsp.private_files import PrivateFileError, create_private_file, read_private_file

KEY_FILE = "state.key"
KEY_SIZE = 32
NONCE_SIZE = 12
_MAX_KEY_FILE = 64  # read at most this much: the file is KEY_SIZE bytes


class StateKey:
    """The card's sealing key, split into an AES-GCM key and the key that makes the nonces."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise StateError(f"{KEY_FILE} must hold {KEY_SIZE} bytes, not {len(key)}")
        self._aead = AESGCM(_derive(key, b"openrsp eUICC state: AES-GCM key"))
        self._nonce_key = _derive(key, b"openrsp eUICC state: nonce key")

    def seal(self, plaintext: bytes, aad: bytes) -> str:
        nonce = hmac.new(self._nonce_key, _frame(aad) + plaintext, hashlib.sha256).digest()[:NONCE_SIZE]
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plaintext, aad)).decode("ascii")

    def open(self, sealed: str, aad: bytes) -> bytes:
        try:
            raw = base64.b64decode(sealed, validate=True)
            if len(raw) < NONCE_SIZE + 16:
                raise ValueError("too short")
            return self._aead.decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], aad)
        except (InvalidTag, ValueError, binascii.Error):
            raise StateError(
                f"sealed subscriber keys do not open with {KEY_FILE}: wrong key or damaged state"
            ) from None


def _derive(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, label, hashlib.sha256).digest()


def _frame(aad: bytes) -> bytes:
    return len(aad).to_bytes(4, "big") + aad


def _aad(eid: str, iccid: str) -> bytes:
    return f"openrsp eUICC aka|{eid}|{iccid}".encode()


# --- the key file ----------------------------------------------------------------------------------
def load_key(directory: Path, *, create: bool) -> StateKey | None:
    """The card's key from DIR/state.key; made (0600, random) when missing and `create`, else None."""
    path = Path(directory) / KEY_FILE
    if not path.is_symlink() and not path.exists():
        if not create:
            return None
        create_private_file(path, os.urandom(KEY_SIZE))  # another process may win: use theirs
    try:
        return StateKey(read_private_file(path, "eUICC key file")[:_MAX_KEY_FILE])
    except PrivateFileError as exc:
        raise StateError(f"cannot open {path}: {exc}") from None
    except OSError as exc:
        raise StateError(f"cannot open {path}: {exc.strerror or exc}") from None


# --- the state JSON ---------------------------------------------------------------------------------
def _akas(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for profile in data.get("profiles") or []:
        aka = profile.get("aka") if isinstance(profile, dict) else None
        if isinstance(aka, dict):
            found.append((str(profile.get("iccid")), aka))
    return found


def has_secrets(data: dict[str, Any]) -> bool:
    return bool(_akas(data))


def seal_secrets(data: dict[str, Any], key: StateKey) -> None:
    """In the state JSON (as EuiccState.to_json made it): replace each Ki/OPc by its sealed form."""
    eid = str(data.get("eid"))
    for iccid, aka in _akas(data):
        secrets = {"ki": aka.pop("ki"), "opc": aka.pop("opc")}
        aka["sealed"] = key.seal(json.dumps(secrets, sort_keys=True).encode(), _aad(eid, iccid))


def open_secrets(data: dict[str, Any], key: StateKey | None, where: Path) -> bool:
    """In the state JSON as read: put Ki/OPc back in clear. True when some were stored in clear."""
    eid = str(data.get("eid"))
    clear = False
    for iccid, aka in _akas(data):
        if "sealed" not in aka:
            clear = clear or "ki" in aka
            continue
        if key is None:
            raise StateError(
                f"{where / KEY_FILE} is missing: the subscriber keys in {where} cannot be opened"
                " (the key file must travel with state.json)"
            )
        try:
            secrets = json.loads(key.open(aka.pop("sealed"), _aad(eid, iccid)))
            aka["ki"], aka["opc"] = secrets["ki"], secrets["opc"]
        except (ValueError, KeyError, TypeError):
            raise StateError(f"sealed subscriber keys of {iccid} are damaged") from None
    return clear
