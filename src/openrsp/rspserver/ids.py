"""Identifiers the SM-DP+ handles: ICCID, EID, matchingId, confirmation code.

Pure functions; randomness comes in as a parameter so tests can pin it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime

_ICCID = re.compile(r"^[0-9]{18,20}$")
_EID = re.compile(r"^[0-9]{32}$")
# What an operator may choose (ES2+ ConfirmOrder; CtxParams1.matchingId is a UTF8String): any
# printable text, e.g. `AC_NO_CC`, but no '$' (it separates activation-code fields, SGP.22 §4.1) and
# at most what the orders table stores. Generated ones use only 0-9 A-Z and '-'.
MAX_MATCHING_ID = 255
_MATCHING_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: easy to read and type


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_iccid(text: str) -> str | None:
    """The ICCID as its 18–20 digit string (a trailing F pad removed), or None if malformed."""
    cleaned = text.strip().upper()
    if len(cleaned) == 20 and cleaned.endswith("F"):
        cleaned = cleaned[:-1]
    return cleaned if _ICCID.match(cleaned) else None


def is_valid_eid(text: str) -> bool:
    return bool(_EID.match(text))


def is_valid_matching_id(text: str) -> bool:
    """Whether an operator may give this matchingId (exact and case-sensitive from then on)."""
    return 0 < len(text) <= MAX_MATCHING_ID and text.isprintable() and "$" not in text


def new_matching_id(rng: Callable[[int], bytes] = os.urandom, groups: int = 4, size: int = 5) -> str:
    """A fresh matchingId: uppercase alphanumeric groups joined by dashes, e.g. 'K7Q2M-…'."""
    alphabet = _MATCHING_ID_ALPHABET
    chars = []
    while len(chars) < groups * size:
        for byte in rng(groups * size):
            if byte < 256 - 256 % len(alphabet):  # reject the tail: no modulo bias
                chars.append(alphabet[byte % len(alphabet)])
    chars = chars[: groups * size]
    return "-".join("".join(chars[i : i + size]) for i in range(0, len(chars), size))


def confirmation_code_hash(code: str) -> bytes:
    """SHA-256 of the code as the LPA hashes it (SGP.22 §2.5.5: hashCc = SHA256(this || transactionId))."""
    return hashlib.sha256(code.encode("utf-8")).digest()


def activation_code(address: str, matching_id: str, *, cc_required: bool = False, oid: str = "") -> str:
    """`LPA:1$address$matchingId[$oid$1]` (SGP.22 §4.1); the last field flags a confirmation code."""
    code = f"LPA:1${address}${matching_id}"
    if cc_required:
        code += f"${oid}$1"
    elif oid:
        code += f"${oid}"
    return code
