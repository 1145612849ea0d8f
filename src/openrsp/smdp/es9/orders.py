"""Which download order an authenticated eUICC asks for, and whether it may have it (SGP.22 §5.6.3).

Activation code and SM-DS use cases name the order by matchingId (activation code token or
EventID); the default SM-DP+ case sends no or an empty matchingId, and the order is found by the
EID. The storage reads the candidates locked (one statement), so the state change that follows
cannot race another session; the rules here are pure, on es9/views.py's ProfileView.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from openrsp.rspserver import status
from openrsp.rspserver.status import StatusCode
from openrsp.smdp.es9.views import ProfileView
from openrsp.smdp.states import State

# States an LPA may download from: a first download, or a retry of a delivered package.
DOWNLOADABLE = (State.RELEASED, State.DOWNLOADED)
NOT_YET_RELEASED = (State.ALLOCATED, State.LINKED, State.CONFIRMED)


def chosen(profiles: list[ProfileView], matching_id: str | None) -> ProfileView | None:
    """The profile this eUICC asks for among those read for its matchingId or, without one, its
    EID (default SM-DP+): released orders first, then retries, then the rest; None when none."""
    if matching_id:
        return profiles[0] if profiles else None
    ordered = [p for p in profiles if p.order is not None]
    ranked = sorted(ordered, key=lambda p: (_rank(p.state), p.order.id if p.order else 0))
    return ranked[0] if ranked else None


def locate(profiles: list[ProfileView], matching_id: str | None, eid: str) -> ProfileView:
    """chosen(), or MATCHING_ID_REFUSED when no order has this matchingId, NO_ORDER_FOR_EID when none
    is ordered for this EID (default SM-DP+)."""
    profile = chosen(profiles, matching_id)
    if profile is not None:
        return profile
    if matching_id:
        raise status.MATCHING_ID_REFUSED.error()
    # default SM-DP+: without a matchingId the EID names the order, so its absence is an EID refusal
    raise status.NO_ORDER_FOR_EID.error(f"EID {eid}")


def _rank(state: str) -> int:
    """Released orders first, then retries, then the rest (which will be refused with their reason)."""
    order = [State.RELEASED, State.DOWNLOADED, *NOT_YET_RELEASED]
    return order.index(State(state)) if State(state) in order else len(order)


@dataclass(frozen=True)
class Refusal:
    code: StatusCode
    detail: str
    ends_order: bool  # the order goes to Error with this refusal (expired, attempts exhausted)


def refusal(profile: ProfileView, eid: str, now: datetime) -> Refusal | None:
    """Why this eUICC may not download this order now, or None."""
    order = profile.order
    assert order is not None
    state = State(profile.state)
    if order.eid and order.eid != eid:
        return Refusal(status.EID_MISMATCH, f"the order is for another eUICC (EID {order.eid})", False)
    pending = state in DOWNLOADABLE or state in NOT_YET_RELEASED
    if pending and order.expires_at is not None and now >= order.expires_at:
        detail = f"the order expired {order.expires_at.isoformat()}"
        return Refusal(status.ORDER_EXPIRED, detail, state in DOWNLOADABLE)
    if state in NOT_YET_RELEASED:
        return Refusal(status.PROFILE_NOT_RELEASED, f"profile {profile.iccid} is {state.value}", False)
    if order.cc_hash is not None and order.cc_attempts >= order.cc_max_attempts:
        return Refusal(status.ORDER_LOCKED, "confirmation code attempts exhausted", state in DOWNLOADABLE)
    if state not in DOWNLOADABLE:
        return Refusal(status.MATCHING_ID_REFUSED, f"profile {profile.iccid} is {state.value}", False)
    if state == State.DOWNLOADED and order.download_attempts >= order.max_download_attempts:
        return Refusal(status.ORDER_LOCKED, f"{order.download_attempts} downloads already", True)
    return None
