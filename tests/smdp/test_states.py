"""The download-order state table: what may happen next, and that nothing else may."""

import pytest

from openrsp.smdp.errors import InvalidTransition
from openrsp.smdp.states import TRANSITIONS, Event, State, allowed_events, next_state


def test_the_happy_path_of_sgp22_runs_through_the_table():
    path = [
        (Event.DOWNLOAD_ORDER, State.ALLOCATED),
        (Event.CONFIRM, State.CONFIRMED),
        (Event.RELEASE, State.RELEASED),
        (Event.BPP_DELIVERED, State.DOWNLOADED),
        (Event.INSTALLED, State.INSTALLED),
    ]
    state = State.AVAILABLE
    for event, expected in path:
        state = next_state(state, event)
        assert state is expected


def test_an_order_for_an_eid_links_the_profile():
    assert next_state("Available", "downloadOrderForEid") is State.LINKED
    assert next_state(State.LINKED, Event.CONFIRM) is State.CONFIRMED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (State.AVAILABLE, Event.CONFIRM),  # nothing to confirm
        (State.ALLOCATED, Event.RELEASE),  # release needs a confirmed order
        (State.CONFIRMED, Event.BPP_DELIVERED),  # not released yet
        (State.INSTALLED, Event.CANCEL_TO_AVAILABLE),  # installed profiles stay installed
        (State.DOWNLOADED, Event.CANCEL_TO_AVAILABLE),  # too late to cancel the order
        (State.UNAVAILABLE, Event.DOWNLOAD_ORDER),  # retired for good
        (State.ALLOCATED, Event.DOWNLOAD_ORDER),  # already reserved: racing orders lose here
    ],
)
def test_anything_not_in_the_table_is_refused(state, event):
    with pytest.raises(InvalidTransition) as info:
        next_state(state, event)
    assert info.value.state == state.value and info.value.event == event.value


def test_back_edges_let_a_download_be_retried_or_an_order_be_cancelled():
    assert next_state(State.DOWNLOADED, Event.BPP_DELIVERED) is State.DOWNLOADED  # retry, same order
    assert next_state(State.DOWNLOADED, Event.SESSION_RETRYABLE) is State.RELEASED
    assert next_state(State.RELEASED, Event.SESSION_FAILED) is State.ERROR
    for state in (State.ALLOCATED, State.LINKED, State.CONFIRMED, State.RELEASED, State.ERROR):
        assert next_state(state, Event.CANCEL_TO_AVAILABLE) is State.AVAILABLE
        assert next_state(state, Event.CANCEL_TO_UNAVAILABLE) is State.UNAVAILABLE


def test_every_state_is_reachable_from_available_and_final_states_are_final():
    reached, frontier = {State.AVAILABLE}, [State.AVAILABLE]
    while frontier:
        state = frontier.pop()
        for event in allowed_events(state):
            target = TRANSITIONS[(state, event)]
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(State)
    assert allowed_events(State.INSTALLED) == []
    assert allowed_events(State.UNAVAILABLE) == []


def test_unknown_names_are_refused_as_values():
    with pytest.raises(ValueError):
        next_state("Sold", Event.CONFIRM)
