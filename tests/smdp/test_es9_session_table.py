"""The RSP session table (rsp_session.py): what may follow what within one transactionId."""

import pytest

from openrsp.smdp.rsp_session import SessionEvent, SessionState, SessionStateError, allows, next_state

S, E = SessionState, SessionEvent


def test_a_download_walks_the_table_to_its_end():
    state = S.INITIATED
    for event in (
        E.AUTHENTICATE_CLIENT,
        E.GET_BOUND_PROFILE_PACKAGE,
        E.GET_BOUND_PROFILE_PACKAGE,
        E.INSTALL_RESULT,
    ):
        state = next_state(state, event)
    assert state == S.ENDED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.INITIATED, E.GET_BOUND_PROFILE_PACKAGE),  # no package before the eUICC is authenticated
        (S.INITIATED, E.INSTALL_RESULT),
        (S.AUTHENTICATED, E.AUTHENTICATE_CLIENT),  # one authentication per session
        (S.AUTHENTICATED, E.INSTALL_RESULT),  # nothing installed before a package was issued
        (S.BOUND, E.AUTHENTICATE_CLIENT),
        *[(S.ENDED, event) for event in E],  # an ended session takes nothing more
    ],
)
def test_moves_outside_the_table_are_refused(state, event):
    assert not allows(state, event)
    with pytest.raises(SessionStateError):
        next_state(state, event)


@pytest.mark.parametrize("state", [S.INITIATED, S.AUTHENTICATED, S.BOUND])
def test_every_open_session_can_be_cancelled_or_fail(state):
    assert next_state(state, E.CANCEL) == S.ENDED
    assert next_state(state, E.FAIL) == S.ENDED
