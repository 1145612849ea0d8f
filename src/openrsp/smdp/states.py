"""The download-order state machine of a profile at the SM-DP+ (SGP.22 §3.1, ES2+ §5.3).

Everything that may happen to a profile's state is in TRANSITIONS below: one row per
(state, event) pair that is allowed, naming the state it leads to. Any other pair is an error by
construction. The table does not know who drives it (operator over ES2+, LPA over ES9+, an admin
on the command line); callers name the event, the table answers with the next state.
"""

from __future__ import annotations

from enum import StrEnum

from openrsp.smdp.errors import InvalidTransition


class State(StrEnum):
    AVAILABLE = "Available"  # in the inventory, no order
    ALLOCATED = "Allocated"  # downloadOrder reserved it, no EID yet
    LINKED = "Linked"  # downloadOrder reserved it for one EID
    CONFIRMED = "Confirmed"  # confirmOrder done, waiting for release
    RELEASED = "Released"  # an LPA may download it now
    DOWNLOADED = "Downloaded"  # the bound profile package was delivered
    INSTALLED = "Installed"  # the eUICC reported a successful installation
    ERROR = "Error"  # the download failed in a way the operator must look at
    UNAVAILABLE = "Unavailable"  # cancelled for good; never handed out again


class Event(StrEnum):
    DOWNLOAD_ORDER = "downloadOrder"  # ES2+ without EID
    DOWNLOAD_ORDER_FOR_EID = "downloadOrderForEid"  # ES2+ with EID
    CONFIRM = "confirmOrder"  # ES2+ confirmOrder (releaseFlag false)
    RELEASE = "release"  # releaseFlag true in confirmOrder, or ES2+ releaseProfile
    BPP_DELIVERED = "bppDelivered"  # ES9+ getBoundProfilePackage answered
    INSTALLED = "installed"  # ES9+ handleNotification: installation result ok
    INSTALL_FAILED = "installFailed"  # ES9+ handleNotification: installation result error
    SESSION_RETRYABLE = "sessionRetryable"  # ES9+ cancelSession (postponed, timeout…): may retry
    SESSION_FAILED = "sessionFailed"  # ES9+ cancelSession with a final reason, or a fatal error
    CANCEL_TO_AVAILABLE = "cancelToAvailable"  # ES2+ cancelOrder, finalProfileStatusIndicator Available
    CANCEL_TO_UNAVAILABLE = "cancelToUnavailable"  # ES2+ cancelOrder, … Unavailable


_ORDERED = (State.ALLOCATED, State.LINKED, State.CONFIRMED, State.RELEASED, State.ERROR)

TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.AVAILABLE, Event.DOWNLOAD_ORDER): State.ALLOCATED,
    (State.AVAILABLE, Event.DOWNLOAD_ORDER_FOR_EID): State.LINKED,
    (State.ALLOCATED, Event.CONFIRM): State.CONFIRMED,
    (State.LINKED, Event.CONFIRM): State.CONFIRMED,
    (State.CONFIRMED, Event.RELEASE): State.RELEASED,
    (State.RELEASED, Event.BPP_DELIVERED): State.DOWNLOADED,
    # A retry (same or new otPK) delivers the package again after an interrupted load.
    (State.DOWNLOADED, Event.BPP_DELIVERED): State.DOWNLOADED,
    (State.DOWNLOADED, Event.INSTALLED): State.INSTALLED,
    (State.DOWNLOADED, Event.INSTALL_FAILED): State.ERROR,
    # cancelSession with a reason that lets the user try again keeps (or puts back) the order released.
    (State.RELEASED, Event.SESSION_RETRYABLE): State.RELEASED,
    (State.DOWNLOADED, Event.SESSION_RETRYABLE): State.RELEASED,
    (State.RELEASED, Event.SESSION_FAILED): State.ERROR,
    (State.DOWNLOADED, Event.SESSION_FAILED): State.ERROR,
    # cancelOrder: any pending order (or a failed one) goes back to the pool or out of it for good.
    **{(state, Event.CANCEL_TO_AVAILABLE): State.AVAILABLE for state in _ORDERED},
    **{(state, Event.CANCEL_TO_UNAVAILABLE): State.UNAVAILABLE for state in _ORDERED},
}

# States in which the profile belongs to a download order (the order row exists).
ORDER_STATES = frozenset(
    {State.ALLOCATED, State.LINKED, State.CONFIRMED, State.RELEASED, State.DOWNLOADED, State.ERROR}
)

# States in which no download is under way, so the profile may leave the inventory (smdp profile remove).
REMOVABLE_STATES = frozenset({State.AVAILABLE, State.UNAVAILABLE, State.ERROR, State.INSTALLED})


def next_state(current: State | str, event: Event | str) -> State:
    """The state `event` leads to from `current`; InvalidTransition when the table has no such row."""
    state, ev = State(current), Event(event)
    try:
        return TRANSITIONS[(state, ev)]
    except KeyError:
        raise InvalidTransition(state.value, ev.value) from None


def allowed_events(current: State | str) -> list[Event]:
    """What may happen next from `current` (for messages and docs)."""
    state = State(current)
    return [ev for (st, ev) in TRANSITIONS if st is state]
