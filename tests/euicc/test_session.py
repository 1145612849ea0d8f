"""The RSP session table: what may follow what, on the eUICC."""

import pytest

from openrsp.euicc.session import (
    BPP,
    SESSION,
    BppPhase,
    Es10bCall,
    OutOfOrderError,
    RspSession,
    Segment,
    SessionState,
    next_phase,
)


def test_a_download_walks_the_table_in_order():
    session = RspSession()
    for call, state in [
        (Es10bCall.GET_CHALLENGE, SessionState.CHALLENGED),
        (Es10bCall.AUTHENTICATE_SERVER, SessionState.AUTHENTICATED),
        (Es10bCall.PREPARE_DOWNLOAD, SessionState.PREPARED),
        (Es10bCall.LOAD_BPP_START, SessionState.LOADING),
        (Es10bCall.LOAD_BPP_SEGMENT, SessionState.LOADING),
    ]:
        assert session.succeed(call) == state


@pytest.mark.parametrize(
    "call",
    [
        Es10bCall.AUTHENTICATE_SERVER,
        Es10bCall.PREPARE_DOWNLOAD,
        Es10bCall.LOAD_BPP_START,
        Es10bCall.LOAD_BPP_SEGMENT,
        Es10bCall.CANCEL_SESSION,
    ],
)
def test_nothing_but_a_challenge_starts_a_session(call):
    session = RspSession()
    assert not session.allows(call)
    with pytest.raises(OutOfOrderError):
        session.succeed(call)
    assert session.state == SessionState.IDLE


def test_failures_fall_back_as_the_table_says():
    session = RspSession()
    session.succeed(Es10bCall.GET_CHALLENGE)
    assert session.fail(Es10bCall.AUTHENTICATE_SERVER) == SessionState.IDLE
    session.succeed(Es10bCall.GET_CHALLENGE)
    session.succeed(Es10bCall.AUTHENTICATE_SERVER)
    assert session.fail(Es10bCall.PREPARE_DOWNLOAD) == SessionState.AUTHENTICATED  # cancellable
    assert session.succeed(Es10bCall.CANCEL_SESSION) == SessionState.IDLE


def test_a_new_challenge_is_allowed_from_every_state():
    assert all((state, Es10bCall.GET_CHALLENGE) in SESSION for state in SessionState)


def test_bpp_segments_in_sgp22_order_with_and_without_replace_session_keys():
    for order in (
        [
            Segment.A0,
            Segment.A1_HEADER,
            Segment.S88,
            Segment.A1_FULL,
            Segment.A3_HEADER,
            Segment.S86,
            Segment.A3_FULL,
        ],
        [
            Segment.A0,
            Segment.A1_HEADER,
            Segment.S88,
            Segment.A1_FULL,
            Segment.A2,
            Segment.A3_HEADER,
            Segment.S86,
            Segment.A3_FULL,
        ],
    ):
        phase = BppPhase.CONFIGURE_ISDP
        for segment in order:
            phase = next_phase(phase, segment)
        assert phase == BppPhase.COMPLETE
    with pytest.raises(OutOfOrderError):
        next_phase(BppPhase.CONFIGURE_ISDP, Segment.S86)
    assert (BppPhase.PROFILE_HEADER, Segment.A2) not in BPP  # one ReplaceSessionKeys at most
