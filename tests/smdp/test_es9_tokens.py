"""initiateAuthentication's transactionId and serverChallenge, proven by a MAC instead of stored."""

import os

from openrsp.rspserver.tokens import issue_transaction_id, open_transaction_id, server_challenge

KEY = bytes(range(32))
PKID = bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")


def test_an_issued_transaction_id_opens_to_what_it_carries():
    tid = issue_transaction_id(KEY, 1, 1_800_000_000, os.urandom)
    assert len(tid) == 16
    issued = open_transaction_id(KEY, tid)
    assert issued is not None and (issued.set_index, issued.issued_at) == (1, 1_800_000_000)


def test_any_other_value_is_unknown():
    tid = issue_transaction_id(KEY, 0, 1_800_000_000, os.urandom)
    for position in range(16):  # one changed byte anywhere, nonce, CI, time or tag
        forged = bytearray(tid)
        forged[position] ^= 1
        assert open_transaction_id(KEY, bytes(forged)) is None
    assert open_transaction_id(bytes(32), tid) is None  # another SM-DP+'s key
    assert open_transaction_id(KEY, tid[:15]) is None


def test_transaction_ids_and_challenges_are_fresh_and_bound_to_the_ci():
    first = issue_transaction_id(KEY, 0, 1_800_000_000, os.urandom)
    second = issue_transaction_id(KEY, 0, 1_800_000_000, os.urandom)
    assert first != second
    assert server_challenge(KEY, first, PKID) != server_challenge(KEY, second, PKID)
    assert server_challenge(KEY, first, PKID) != server_challenge(KEY, first, bytes(20))
    assert server_challenge(KEY, first, PKID) == server_challenge(KEY, first, PKID)
    assert len(server_challenge(KEY, first, PKID)) == 16
