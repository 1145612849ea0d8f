"""transactionId and serverChallenge of initiateAuthentication without a database write.

initiateAuthentication answers before anything is known about the eUICC, and most of what it
would store (the CI chosen, the challenge issued, when) can instead be carried in the
transactionId and proven with a MAC under a key derived from the KEK (the same in every worker):

    transactionId   = nonce (7) || CI set index (1) || issued at, seconds (4) || tag (4)
    tag             = HMAC-SHA256(key, "tid" || first 12 bytes)[:4]
    serverChallenge = HMAC-SHA256(key, "challenge" || transactionId || CI PKID)[:16]

authenticateClient recomputes both: a transactionId whose tag does not verify is unknown, one
older than the session lifetime has expired, and the eUICC must have signed exactly the
challenge this SM-DP+ derived for it (unpredictable without the key). The session row is
written by authenticateClient, so a transactionId authenticates at most once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

TRANSACTION_ID_LENGTH = 16
_NONCE = 7
_TAG = 4
_BODY = TRANSACTION_ID_LENGTH - _TAG
CHALLENGE_LENGTH = 16


@dataclass(frozen=True)
class IssuedSession:
    set_index: int  # which of the SM-DP+'s CI sets initiateAuthentication chose
    issued_at: int  # seconds since the epoch


def _mac(key: bytes, label: bytes, data: bytes) -> bytes:
    return hmac.new(key, label + data, hashlib.sha256).digest()


def issue_transaction_id(key: bytes, set_index: int, issued_at: int, rng: Callable[[int], bytes]) -> bytes:
    if not 0 <= set_index < 256:
        raise ValueError("CI set index must fit one byte")
    body = rng(_NONCE) + bytes([set_index]) + issued_at.to_bytes(4, "big")
    return body + _mac(key, b"tid", body)[:_TAG]


def open_transaction_id(key: bytes, transaction_id: bytes) -> IssuedSession | None:
    """What a transactionId this SM-DP+ issued carries; None for any other value."""
    if len(transaction_id) != TRANSACTION_ID_LENGTH:
        return None
    body, tag = transaction_id[:_BODY], transaction_id[_BODY:]
    if not hmac.compare_digest(tag, _mac(key, b"tid", body)[:_TAG]):
        return None
    return IssuedSession(set_index=body[_NONCE], issued_at=int.from_bytes(body[_NONCE + 1 :], "big"))


def server_challenge(key: bytes, transaction_id: bytes, ci_pkid: bytes) -> bytes:
    return _mac(key, b"challenge", transaction_id + ci_pkid)[:CHALLENGE_LENGTH]
