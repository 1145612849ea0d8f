"""The SM-DP+ side of one RSP session (one transactionId): which ES9+ call may come next.

Everything that moves a session lives in this file, as one table of allowed transitions (the h11
way): a call that is not in the table for the session's state is refused, whatever the caller
believes. The table knows nothing of HTTP, the database or the order; es9plus.py asks it before
acting and stores the state it returns.
"""

from __future__ import annotations

from enum import StrEnum

from openrsp.errors import OpenRSPError


class SessionState(StrEnum):
    INITIATED = "initiated"  # initiateAuthentication answered; serverChallenge outstanding
    AUTHENTICATED = "authenticated"  # eUICC authenticated, order found; smdpSigned2 issued
    BOUND = "bound"  # a bound profile package was issued; the install result is awaited
    ENDED = "ended"  # install result received, cancelled, or failed for good


class SessionEvent(StrEnum):
    AUTHENTICATE_CLIENT = "authenticateClient"
    GET_BOUND_PROFILE_PACKAGE = "getBoundProfilePackage"
    INSTALL_RESULT = "handleNotification"
    CANCEL = "cancelSession"
    FAIL = "fail"  # a failure after which the session cannot go on


_TRANSITIONS: dict[tuple[SessionState, SessionEvent], SessionState] = {
    (SessionState.INITIATED, SessionEvent.AUTHENTICATE_CLIENT): SessionState.AUTHENTICATED,
    (SessionState.INITIATED, SessionEvent.CANCEL): SessionState.ENDED,
    (SessionState.INITIATED, SessionEvent.FAIL): SessionState.ENDED,
    (SessionState.AUTHENTICATED, SessionEvent.GET_BOUND_PROFILE_PACKAGE): SessionState.BOUND,
    (SessionState.AUTHENTICATED, SessionEvent.CANCEL): SessionState.ENDED,
    (SessionState.AUTHENTICATED, SessionEvent.FAIL): SessionState.ENDED,
    # The LPA may ask again (lost answer): same otPK → an equivalent package.
    (SessionState.BOUND, SessionEvent.GET_BOUND_PROFILE_PACKAGE): SessionState.BOUND,
    (SessionState.BOUND, SessionEvent.INSTALL_RESULT): SessionState.ENDED,
    (SessionState.BOUND, SessionEvent.CANCEL): SessionState.ENDED,
    (SessionState.BOUND, SessionEvent.FAIL): SessionState.ENDED,
}


class SessionStateError(OpenRSPError):
    """An ES9+ call that the session's state does not allow (SGP.22: unknown transaction)."""

    def __init__(self, state: SessionState, event: SessionEvent) -> None:
        super().__init__(f"{event.value} is not allowed in session state {state.value}")
        self.state = state
        self.event = event


def next_state(state: SessionState, event: SessionEvent) -> SessionState:
    """The state after event, or SessionStateError when the table does not allow it."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise SessionStateError(state, event) from None


def allows(state: SessionState, event: SessionEvent) -> bool:
    return (state, event) in _TRANSITIONS
