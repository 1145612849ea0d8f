"""The ES2+ rules (SGP.22 §5.3), sans-I/O: a request body, a snapshot of the rows it concerns, the
time and randomness in; the response and the effects to store out.

DownloadOrder, ConfirmOrder, CancelOrder, ReleaseProfile and profileStatus (an openrsp extension:
ES2+ has no way to ask where an order is). Failures raise Es2Error with the SGP.22 subject/reason
codes. es2/service.py reads the snapshot (db/profiles.py rows), calls these functions and applies
the effects in one transaction; this module imports neither SQLAlchemy nor the HTTP layer, so it
is tested with values alone.

`caller` is the operator's name, or None for the administrator (the `openrsp smdp admin`
commands): it may act on every profile, as if it were the profile's own operator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from openrsp.rspserver.ids import (
    confirmation_code_hash,
    is_valid_eid,
    is_valid_matching_id,
    new_matching_id,
    normalize_iccid,
)
from openrsp.rspserver.jsonapi import optional_string, require_string
from openrsp.smdp.errors import Es2Error
from openrsp.smdp.rows import ProfileRow
from openrsp.smdp.states import ORDER_STATES, Event, State
from openrsp.status_codes import PROTOCOL_FORMAT

# Subject codes (SGP.22 §5.1.6.4)
EID = "8.1.1"
ICCID = "8.2.1"
PROFILE_TYPE = "8.2.5"
MATCHING_ID = "8.2.6"
CONFIRMATION_CODE = "8.2.7"
FUNCTION = "1.6"
SMDS_ADDRESS = "8.9.1"

# Attempt limits are stored in 32-bit integer columns; anything outside 1..MAX_ATTEMPTS is refused
# as a malformed request (1.3.1 / 2.1) before it reaches the database.
MAX_ATTEMPTS = 2**31 - 1
# A claim by profile type that loses this many races in a row answers "no more profiles".
CLAIM_TRIES = 20
_SMDS_ADDRESS = re.compile(r"^(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class OrderDefaults:
    cc_max_attempts: int = 3
    max_download_attempts: int = 5
    order_ttl: timedelta | None = None

    @classmethod
    def from_config(cls, config: Any) -> OrderDefaults:
        """From an SmdpConfig (cc_max_attempts, max_download_attempts, order_ttl_hours)."""
        ttl = timedelta(hours=config.order_ttl_hours) if config.order_ttl_hours else None
        return cls(config.cc_max_attempts, config.max_download_attempts, ttl)


# -- effects: what the service stores, in this order, in the call's transaction -------------------


@dataclass(frozen=True)
class Move:
    """Move the profile along the state table (db/order_moves.py). When another caller moved it
    first: `conflict` is the answer, or None to try the next Available profile (a claim by type)."""

    event: Event
    conflict: Es2Error | None


@dataclass(frozen=True)
class CreateOrder:
    eid: str | None
    cc_max_attempts: int
    max_download_attempts: int
    expires_at: datetime | None


@dataclass(frozen=True)
class UpdateOrder:
    """Write these order columns; `conflict` answers a matchingId taken meanwhile (unique index)."""

    values: dict[str, Any]
    conflict: Es2Error | None = None


@dataclass(frozen=True)
class DropOrder:
    pass


@dataclass(frozen=True)
class RegisterEvent:
    """Register the order's event at an SM-DS (ES12), queued in the outbox and tried at once."""

    smds_address: str
    eid: str
    event_id: str


Effect = Move | CreateOrder | UpdateOrder | DropOrder | RegisterEvent


@dataclass(frozen=True)
class Decision:
    profile: ProfileRow  # whom the effects are for
    response: dict[str, Any]
    effects: tuple[Effect, ...] = ()
    # A matchingId drawn here: the service draws again (decides again) while it is in use.
    fresh_matching_id: str | None = None


# -- requests: the body checked and read ------------------------------------------------------------


@dataclass(frozen=True)
class DownloadOrderRequest:
    eid: str | None
    iccid: str | None
    profile_type: str | None

    @property
    def event(self) -> Event:
        return Event.DOWNLOAD_ORDER_FOR_EID if self.eid else Event.DOWNLOAD_ORDER


@dataclass(frozen=True)
class ConfirmOrderRequest:
    iccid: str
    eid: str | None
    matching_id: str | None  # None: not given; "": given empty (the default SM-DP+ / SM-DS case)
    code: str | None
    smds_address: str | None
    release: bool
    expires_at: datetime | None
    cc_max: int | None
    download_max: int | None


@dataclass(frozen=True)
class CancelOrderRequest:
    iccid: str
    eid: str | None
    matching_id: str | None
    event: Event


@dataclass(frozen=True)
class ReleaseProfileRequest:
    iccid: str
    eid: str | None


@dataclass(frozen=True)
class ProfileStatusRequest:
    iccid: str


def parse_download_order(body: dict[str, Any]) -> DownloadOrderRequest:
    eid = _optional_eid(body)
    iccid = _optional_iccid(body)
    profile_type = optional_string(body, "profileType", Es2Error, PROFILE_TYPE, max_length=128)
    if iccid is None and not profile_type:
        raise Es2Error(ICCID, "2.3", "give an iccid or a profileType")
    return DownloadOrderRequest(eid, iccid, profile_type)


def parse_confirm_order(body: dict[str, Any], smdp_address: str) -> ConfirmOrderRequest:
    if not smdp_address:  # the answer must carry it: activation codes are built from it
        raise Es2Error("1.2", "4.2", "the SM-DP+ address is not configured (--address or --credentials)")
    iccid = _required_iccid(body)
    eid = _optional_eid(body)
    matching_id = optional_string(body, "matchingId", Es2Error, MATCHING_ID)
    code = optional_string(body, "confirmationCode", Es2Error, CONFIRMATION_CODE, max_length=255)
    smds_address = optional_string(body, "smdsAddress", Es2Error, SMDS_ADDRESS, max_length=255)
    if smds_address is not None:
        smds_address = check_smds_address(smds_address)
    release = body.get("releaseFlag")
    if release is None:
        raise Es2Error(FUNCTION, "2.2", "releaseFlag is missing")
    if not isinstance(release, bool):
        raise Es2Error(FUNCTION, "2.1", "releaseFlag must be true or false")
    if matching_id and not is_valid_matching_id(matching_id):
        raise Es2Error(MATCHING_ID, "2.1", "matchingId: 1 to 255 printable characters, no '$'")
    if code is not None and not code:
        raise Es2Error(CONFIRMATION_CODE, "2.1", "confirmationCode is empty")
    expires_at = _optional_expiry(body)
    cc_max = _optional_count(body, "maxConfirmationCodeAttempts")
    download_max = _optional_count(body, "maxDownloadAttempts")
    return ConfirmOrderRequest(
        iccid, eid, matching_id, code, smds_address, release, expires_at, cc_max, download_max
    )


def parse_cancel_order(body: dict[str, Any]) -> CancelOrderRequest:
    iccid = _required_iccid(body)
    eid = _optional_eid(body)
    matching_id = optional_string(body, "matchingId", Es2Error, MATCHING_ID)
    final = optional_string(body, "finalProfileStatusIndicator", Es2Error, ICCID)
    if final is None:
        raise Es2Error(ICCID, "2.2", "finalProfileStatusIndicator is missing")
    events = {"Available": Event.CANCEL_TO_AVAILABLE, "Unavailable": Event.CANCEL_TO_UNAVAILABLE}
    if final not in events:
        raise Es2Error(ICCID, "2.1", "finalProfileStatusIndicator must be Available or Unavailable")
    return CancelOrderRequest(iccid, eid, matching_id, events[final])


def parse_release_profile(body: dict[str, Any]) -> ReleaseProfileRequest:
    return ReleaseProfileRequest(_required_iccid(body), _optional_eid(body))


def parse_profile_status(body: dict[str, Any]) -> ProfileStatusRequest:
    return ProfileStatusRequest(_required_iccid(body))


def check_smds_address(address: str) -> str:
    """An SM-DS address is a host name (or IP address), optionally with :port."""
    address = address.strip()
    if not _SMDS_ADDRESS.match(address):
        raise Es2Error(SMDS_ADDRESS, "2.1", f"smdsAddress {address!r} is not a host name (optionally :port)")
    return address.lower()


# -- the functions ----------------------------------------------------------------------------------


def own_profile(caller: str | None, iccid: str, profile: ProfileRow | None) -> ProfileRow:
    """The profile, when it exists and the caller may act on it."""
    if profile is None:
        raise Es2Error(ICCID, "3.9", f"profile {iccid} is unknown to this SM-DP+", iccid)
    if caller is not None and profile.operator_name != caller:
        raise Es2Error(ICCID, "1.2", f"profile {iccid} belongs to another operator", iccid)
    return profile


def download_order(
    request: DownloadOrderRequest,
    caller: str | None,
    profile: ProfileRow | None,
    now: datetime,
    defaults: OrderDefaults,
) -> Decision:
    """DownloadOrder of one ICCID (`profile`: the row of request.iccid, None when unknown)."""
    assert request.iccid is not None
    found = own_profile(caller, request.iccid, profile)
    if request.profile_type and request.profile_type != found.profile_type:
        raise Es2Error(PROFILE_TYPE, "3.8", f"profile {found.iccid} is of type {found.profile_type}")
    if found.state != State.AVAILABLE:
        raise Es2Error(ICCID, "3.3", f"profile {found.iccid} is not available (state {found.state})")
    return _ordered(found, request, Move(request.event, _changed(found, "3.3")), now, defaults)


def claimable_by_type(request: DownloadOrderRequest, caller: str | None) -> str:
    """Who claims a profile by type: an operator (its name); the administrator orders by ICCID."""
    if caller is None:
        raise Es2Error(PROFILE_TYPE, "1.2", "the administrator orders by ICCID, not by profile type")
    assert request.profile_type is not None
    return caller


def download_order_by_type(
    request: DownloadOrderRequest,
    type_known: bool,
    candidate: ProfileRow | None,
    now: datetime,
    defaults: OrderDefaults,
) -> Decision:
    """DownloadOrder of any Available profile of the type (`candidate`: the one found, if any).
    When another caller claims the candidate first, the service asks again with the next one."""
    if not type_known:
        raise Es2Error(
            PROFILE_TYPE, "3.9", f"profile type {request.profile_type!r} is unknown to this SM-DP+"
        )
    if candidate is None:
        raise no_profile_left(request)
    return _ordered(candidate, request, Move(request.event, None), now, defaults)


def no_profile_left(request: DownloadOrderRequest) -> Es2Error:
    return Es2Error(PROFILE_TYPE, "3.7", f"no more profiles available of type {request.profile_type!r}")


def _ordered(
    profile: ProfileRow, request: DownloadOrderRequest, move: Move, now: datetime, defaults: OrderDefaults
) -> Decision:
    order = CreateOrder(
        eid=request.eid,
        cc_max_attempts=defaults.cc_max_attempts,
        max_download_attempts=defaults.max_download_attempts,
        expires_at=now + defaults.order_ttl if defaults.order_ttl else None,
    )
    return Decision(profile, {"iccid": profile.iccid}, (move, order))


def confirm_order(
    request: ConfirmOrderRequest,
    caller: str | None,
    profile: ProfileRow | None,
    *,
    matching_id_taken: bool,
    smdp_address: str,
    smds_reachable: bool,
    now: datetime,
    rng: Callable[[int], bytes],
) -> Decision:
    """ConfirmOrder. `matching_id_taken`: whether request.matching_id is another order's already;
    `smds_reachable`: whether this SM-DP+ has the TLS credentials to call an SM-DS with."""
    found = own_profile(caller, request.iccid, profile)
    if found.state not in (State.ALLOCATED, State.LINKED):
        raise Es2Error(ICCID, "3.5", f"profile {found.iccid} is in state {found.state}, not Allocated/Linked")
    order = found.order
    assert order is not None  # Allocated and Linked profiles have an order
    eid = request.eid
    if order.eid and eid and eid != order.eid:
        raise Es2Error(EID, "3.10", "a different EID is already associated with this ICCID")
    bound_eid = order.eid or eid
    smds_address = request.smds_address
    if (smds_address or request.matching_id == "") and not bound_eid:
        raise Es2Error(EID, "2.2", "an EID is needed with an SM-DS address or an empty matchingId")
    if smds_address and not smds_reachable:
        raise Es2Error("8.9", "4.2", "this SM-DP+ has no TLS credentials to call an SM-DS with")
    matching_id = request.matching_id
    fresh = None
    if matching_id:
        if matching_id_taken:
            raise Es2Error(MATCHING_ID, "3.3", f"matchingId {matching_id} is already in use")
    elif matching_id is None or smds_address:  # an SM-DS event needs an eventId: the matchingId
        matching_id = fresh = new_matching_id(rng)
    values: dict[str, Any] = {
        "eid": bound_eid,
        "matching_id": matching_id or None,
        "cc_hash": confirmation_code_hash(request.code) if request.code else None,
        "smds_address": smds_address,
        "release_flag": request.release,
    }
    if request.expires_at is not None:
        values["expires_at"] = request.expires_at
    if request.cc_max is not None:
        values["cc_max_attempts"] = request.cc_max
    if request.download_max is not None:
        values["max_download_attempts"] = request.download_max
    values["updated_at"] = now
    taken = Es2Error(MATCHING_ID, "3.3", f"matchingId {matching_id} is already in use")
    effects: list[Effect] = [UpdateOrder(values, taken), Move(Event.CONFIRM, _changed(found, "3.5"))]
    if request.release:
        effects.append(Move(Event.RELEASE, _changed(found, "3.5")))
    response: dict[str, Any] = {"matchingId": matching_id, "smdpAddress": smdp_address}
    if bound_eid:
        response["eid"] = bound_eid
    if smds_address and bound_eid and matching_id:  # checked above
        effects.append(RegisterEvent(smds_address, bound_eid, matching_id))
    return Decision(found, response, tuple(effects), fresh)


def cancel_order(request: CancelOrderRequest, caller: str | None, profile: ProfileRow | None) -> Decision:
    found = own_profile(caller, request.iccid, profile)
    if found.state in (State.DOWNLOADED, State.INSTALLED):
        raise Es2Error(ICCID, "3.3", f"profile {found.iccid} is already downloaded")
    if found.state not in ORDER_STATES:
        raise Es2Error(ICCID, "3.5", f"profile {found.iccid} has no pending order (state {found.state})")
    order = found.order
    if order is not None:
        _check_bound_eid(caller, order.eid, request.eid, required=True)
    matching_id = request.matching_id
    if order is not None and order.matching_id and matching_id and matching_id != order.matching_id:
        raise Es2Error(MATCHING_ID, "3.10", "a different matchingId is associated with this ICCID")
    return Decision(found, {}, (Move(request.event, _changed(found, "3.5")), DropOrder()))


def release_profile(
    request: ReleaseProfileRequest, caller: str | None, profile: ProfileRow | None
) -> Decision:
    found = own_profile(caller, request.iccid, profile)
    if found.state != State.CONFIRMED:
        raise Es2Error(ICCID, "3.5", f"profile {found.iccid} cannot be released from state {found.state}")
    assert found.order is not None  # a Confirmed profile has an order
    _check_bound_eid(caller, found.order.eid, request.eid, required=False)
    effects = (Move(Event.RELEASE, _changed(found, "3.5")), UpdateOrder({"release_flag": True}))
    return Decision(found, {}, effects)


def profile_status(
    request: ProfileStatusRequest, caller: str | None, profile: ProfileRow | None, now: datetime
) -> Decision:
    """openrsp extension: where a profile and its order are."""
    found = own_profile(caller, request.iccid, profile)
    return Decision(found, status_of(found, now))


def status_of(profile: ProfileRow, now: datetime) -> dict[str, Any]:
    """The JSON view of one profile and its order (profileStatus, `smdp profile list --json`)."""
    order = profile.order
    status: dict[str, Any] = {
        "iccid": profile.iccid,
        "state": profile.state,
        "profileType": profile.profile_type,
        "operator": profile.operator_name,
        "updatedAt": _iso(profile.updated_at),
    }
    if order is not None:
        status.update(
            {
                "eid": order.eid,
                "matchingId": order.matching_id,
                "ccRequired": order.cc_hash is not None,
                "ccAttempts": order.cc_attempts,
                "ccMaxAttempts": order.cc_max_attempts,
                "downloadAttempts": order.download_attempts,
                "maxDownloadAttempts": order.max_download_attempts,
                "releaseFlag": order.release_flag,
                "smdsAddress": order.smds_address,
                "expiresAt": _iso(order.expires_at) if order.expires_at else None,
                "expired": bool(order.expires_at and order.expires_at <= now),
            }
        )
    return status


# -- helpers ----------------------------------------------------------------------------------------


def _changed(profile: ProfileRow, reason: str) -> Es2Error:
    """The answer when another caller moved the profile between our read and our update."""
    return Es2Error(ICCID, reason, f"profile {profile.iccid} changed concurrently; try again")


def _check_bound_eid(caller: str | None, bound: str | None, given: str | None, *, required: bool) -> None:
    """SGP.22 §5.3.3: for an order bound to an EID, the caller names that EID (CancelOrder must,
    ReleaseProfile may); a different one is an invalid association. The administrator, who acts
    on the SM-DP+'s own data, need not name it."""
    if not bound:
        return
    if given is None:
        if required and caller is not None:
            raise Es2Error(EID, "2.2", "this order is bound to an EID: give the eid")
        return
    if given != bound:
        raise Es2Error(EID, "3.10", "a different EID is associated with this ICCID")


def _required_iccid(body: dict[str, Any]) -> str:
    return _iccid(require_string(body, "iccid", Es2Error, ICCID))


def _optional_iccid(body: dict[str, Any]) -> str | None:
    text = optional_string(body, "iccid", Es2Error, ICCID)
    return None if text is None else _iccid(text)


def _iccid(text: str) -> str:
    iccid = normalize_iccid(text)
    if iccid is None:
        raise Es2Error(ICCID, "2.1", f"not an ICCID: {text!r}")
    return iccid


def _optional_eid(body: dict[str, Any]) -> str | None:
    eid = optional_string(body, "eid", Es2Error, EID)
    if eid is not None and not is_valid_eid(eid):
        raise Es2Error(EID, "2.1", f"not an EID (32 digits): {eid!r}")
    return eid or None


def _optional_expiry(body: dict[str, Any]) -> datetime | None:
    text = optional_string(body, "expiresAt", Es2Error, "8.8.5")
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Es2Error("8.8.5", "2.1", f"expiresAt is not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        raise Es2Error("8.8.5", "2.1", "expiresAt needs a time zone (e.g. Z)")
    try:
        return when.astimezone(UTC)  # stored in UTC: 9999-12-31T23:59-14:00 is past year 9999
    except OverflowError:
        raise Es2Error("8.8.5", "2.1", f"expiresAt is out of range: {text!r}") from None


def _optional_count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ATTEMPTS:
        raise Es2Error(PROTOCOL_FORMAT, "2.1", f"{name} must be a whole number from 1 to {MAX_ATTEMPTS}")
    return value


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
