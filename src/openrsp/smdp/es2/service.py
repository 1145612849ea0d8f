"""ES2+ (operator → SM-DP+), sans-I/O: request fields in, response fields out, over the repository.

SGP.22 §5.3: downloadOrder, confirmOrder, cancelOrder, releaseProfile; plus `profileStatus`, an
openrsp extension (ES2+ has no way to ask where an order is). Each call runs in one DB
transaction; state changes go through the state table with a conditional update, so two racing
callers never both get a profile. Failures raise Es2Error with the SGP.22 subject/reason codes.

`operator=None` is the administrator (the `openrsp smdp admin` commands): it may act on every
profile, as if it were the profile's own operator. `operator` may also be a function that names
the operator from inside the call's transaction (the HTTP layer resolves a client certificate so,
without a transaction of its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openrsp.rspserver.ids import (
    confirmation_code_hash,
    is_valid_eid,
    is_valid_matching_id,
    new_matching_id,
    normalize_iccid,
    utcnow,
)
from openrsp.rspserver.jsonapi import optional_string, require_string
from openrsp.smdp.db.models import Profile
from openrsp.smdp.errors import Es2Error, StateConflict
from openrsp.smdp.repository import Repository
from openrsp.smdp.smds_events import SmdsRegistrar, check_smds_address
from openrsp.smdp.smds_events import pending_error as smds_pending_error
from openrsp.smdp.states import ORDER_STATES, Event, State
from openrsp.status_codes import PROTOCOL_FORMAT

FUNCTIONS = ("downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile")
EXTENSION_FUNCTIONS = ("profileStatus",)

# Subject codes (SGP.22 §5.1.6.4)
EID = "8.1.1"
ICCID = "8.2.1"
PROFILE_TYPE = "8.2.5"
MATCHING_ID = "8.2.6"
CONFIRMATION_CODE = "8.2.7"
FUNCTION = "1.6"

# Attempt limits are stored in 32-bit integer columns; anything outside 1..MAX_ATTEMPTS is refused
# as a malformed request (1.3.1 / 2.1) before it reaches the database.
MAX_ATTEMPTS = 2**31 - 1


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


class Es2Service:
    def __init__(
        self,
        repo: Repository,
        *,
        operator: str | None | Callable[[Session], str],
        address: str,
        defaults: OrderDefaults = OrderDefaults(),
        clock: Callable[[], datetime] = utcnow,
        rng: Callable[[int], bytes] = os.urandom,
        smds: SmdsRegistrar | None = None,
    ) -> None:
        self.smds = smds  # registers events at SM-DSs (confirmOrder with smdsAddress)
        self.repo = repo
        self.operator = operator
        self.address = address
        self.defaults = defaults
        self.clock = clock
        self.rng = rng

    def call(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run one ES2+ function by its SGP.22 name; the response fields without the header."""
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "downloadOrder": self.download_order,
            "confirmOrder": self.confirm_order,
            "cancelOrder": self.cancel_order,
            "releaseProfile": self.release_profile,
            "profileStatus": self.profile_status,
        }
        handler = handlers.get(function)
        if handler is None:
            raise Es2Error(FUNCTION, "3.9", f"unknown ES2+ function {function}")
        return handler(body)

    # -- the functions --------------------------------------------------------------------------

    def download_order(self, body: dict[str, Any]) -> dict[str, Any]:
        eid = self._optional_eid(body)
        iccid = self._optional_iccid(body)
        profile_type = optional_string(body, "profileType", Es2Error, PROFILE_TYPE, max_length=128)
        if iccid is None and not profile_type:
            raise Es2Error(ICCID, "2.3", "give an iccid or a profileType")
        event = Event.DOWNLOAD_ORDER_FOR_EID if eid else Event.DOWNLOAD_ORDER
        with self.repo.transaction() as session:
            if iccid is not None:
                profile = self._own_profile(session, iccid)
                if profile_type and profile_type != profile.profile_type:
                    raise Es2Error(PROFILE_TYPE, "3.8", f"profile {iccid} is of type {profile.profile_type}")
                if profile.state != State.AVAILABLE:
                    raise Es2Error(ICCID, "3.3", f"profile {iccid} is not available (state {profile.state})")
                self._move(profile, session, event, ICCID, "3.3")
            else:
                assert profile_type is not None
                profile = self._claim_by_type(session, profile_type, event)
            self.repo.create_order(
                session,
                profile,
                eid=eid,
                cc_max_attempts=self.defaults.cc_max_attempts,
                max_download_attempts=self.defaults.max_download_attempts,
            )
            if self.defaults.order_ttl:
                profile.order.expires_at = self.clock() + self.defaults.order_ttl
            return {"iccid": profile.iccid}

    def confirm_order(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self.address:  # the answer must carry it: activation codes are built from it
            raise Es2Error("1.2", "4.2", "the SM-DP+ address is not configured (--address or --credentials)")
        iccid = self._required_iccid(body)
        eid = self._optional_eid(body)
        matching_id = optional_string(body, "matchingId", Es2Error, MATCHING_ID)
        code = optional_string(body, "confirmationCode", Es2Error, CONFIRMATION_CODE, max_length=255)
        smds_address = optional_string(body, "smdsAddress", Es2Error, "8.9.1", max_length=255)
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
        expires_at = self._optional_expiry(body)
        cc_max = self._optional_count(body, "maxConfirmationCodeAttempts")
        download_max = self._optional_count(body, "maxDownloadAttempts")

        with self.repo.transaction() as session:
            profile = self._own_profile(session, iccid)
            if profile.state not in (State.ALLOCATED, State.LINKED):
                raise Es2Error(
                    ICCID, "3.5", f"profile {iccid} is in state {profile.state}, not Allocated/Linked"
                )
            order = profile.order
            assert order is not None
            if order.eid and eid and eid != order.eid:
                raise Es2Error(EID, "3.10", "a different EID is already associated with this ICCID")
            bound_eid = order.eid or eid
            if (smds_address or matching_id == "") and not bound_eid:
                raise Es2Error(EID, "2.2", "an EID is needed with an SM-DS address or an empty matchingId")
            if smds_address and self.smds is None:
                raise Es2Error("8.9", "4.2", "this SM-DP+ has no TLS credentials to call an SM-DS with")
            if matching_id:
                if self.repo.matching_id_in_use(session, matching_id):
                    raise Es2Error(MATCHING_ID, "3.3", f"matchingId {matching_id} is already in use")
            elif matching_id is None or smds_address:  # an SM-DS event needs an eventId: the matchingId
                matching_id = self._fresh_matching_id(session)
            order.eid = bound_eid
            order.matching_id = matching_id or None
            order.cc_hash = confirmation_code_hash(code) if code else None
            order.smds_address = smds_address
            order.release_flag = release
            if expires_at is not None:
                order.expires_at = expires_at
            if cc_max is not None:
                order.cc_max_attempts = cc_max
            if download_max is not None:
                order.max_download_attempts = download_max
            order.updated_at = self.clock()
            try:
                session.flush()
            except IntegrityError:
                raise Es2Error(MATCHING_ID, "3.3", f"matchingId {matching_id} is already in use") from None
            self._move(profile, session, Event.CONFIRM, ICCID, "3.5")
            if release:
                self._move(profile, session, Event.RELEASE, ICCID, "3.5")
            response: dict[str, Any] = {"matchingId": matching_id, "smdpAddress": self.address}
            if bound_eid:
                response["eid"] = bound_eid
            pending = None
            if smds_address and self.smds is not None and bound_eid and matching_id:  # checked above
                pending = self.smds.register_now(
                    session, smds_address, bound_eid, matching_id, self.address, self.clock()
                )
        if pending is not None:  # committed: the outbox keeps trying
            raise smds_pending_error(pending)
        return response

    def cancel_order(self, body: dict[str, Any]) -> dict[str, Any]:
        iccid = self._required_iccid(body)
        eid = self._optional_eid(body)
        matching_id = optional_string(body, "matchingId", Es2Error, MATCHING_ID)
        final = optional_string(body, "finalProfileStatusIndicator", Es2Error, ICCID)
        if final is None:
            raise Es2Error(ICCID, "2.2", "finalProfileStatusIndicator is missing")
        events = {"Available": Event.CANCEL_TO_AVAILABLE, "Unavailable": Event.CANCEL_TO_UNAVAILABLE}
        if final not in events:
            raise Es2Error(ICCID, "2.1", "finalProfileStatusIndicator must be Available or Unavailable")
        with self.repo.transaction() as session:
            profile = self._own_profile(session, iccid)
            if profile.state in (State.DOWNLOADED, State.INSTALLED):
                raise Es2Error(ICCID, "3.3", f"profile {iccid} is already downloaded")
            if profile.state not in ORDER_STATES:
                raise Es2Error(ICCID, "3.5", f"profile {iccid} has no pending order (state {profile.state})")
            order = profile.order
            if order is not None:
                self._check_bound_eid(order.eid, eid, required=True)
            if order is not None and order.matching_id and matching_id and matching_id != order.matching_id:
                raise Es2Error(MATCHING_ID, "3.10", "a different matchingId is associated with this ICCID")
            self._move(profile, session, events[final], ICCID, "3.5")
            self.repo.drop_order(session, profile)
            return {}

    def release_profile(self, body: dict[str, Any]) -> dict[str, Any]:
        iccid = self._required_iccid(body)
        eid = self._optional_eid(body)
        with self.repo.transaction() as session:
            profile = self._own_profile(session, iccid)
            if profile.state != State.CONFIRMED:
                raise Es2Error(ICCID, "3.5", f"profile {iccid} cannot be released from state {profile.state}")
            assert profile.order is not None
            self._check_bound_eid(profile.order.eid, eid, required=False)
            self._move(profile, session, Event.RELEASE, ICCID, "3.5")
            profile.order.release_flag = True
            return {}

    def profile_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """openrsp extension: where a profile and its order are."""
        iccid = self._required_iccid(body)
        with self.repo.transaction() as session:
            return status_of(self._own_profile(session, iccid, lock=False), self.clock())

    # -- helpers --------------------------------------------------------------------------------

    def _own_profile(self, session: Session, iccid: str, *, lock: bool = True) -> Profile:
        operator = self._operator(session)  # first: a caller of no operator learns nothing
        profile = self.repo.get_profile(session, iccid, lock=lock)
        if profile is None:
            raise Es2Error(ICCID, "3.9", f"profile {iccid} is unknown to this SM-DP+", iccid)
        if operator is not None and profile.operator.name != operator:
            raise Es2Error(ICCID, "1.2", f"profile {iccid} belongs to another operator", iccid)
        return profile

    def _claim_by_type(self, session: Session, profile_type: str, event: Event) -> Profile:
        operator = self._operator(session)
        if operator is None:
            raise Es2Error(PROFILE_TYPE, "1.2", "the administrator orders by ICCID, not by profile type")
        owner = self.repo.ensure_operator(session, operator)
        if not self.repo.profile_type_known(session, owner.id, profile_type):
            raise Es2Error(PROFILE_TYPE, "3.9", f"profile type {profile_type!r} is unknown to this SM-DP+")
        for _ in range(20):  # a conflicting claim makes us try the next free profile
            profile = self.repo.find_available(session, owner.id, profile_type)
            if profile is None:
                break
            try:
                self.repo.transition(session, profile, event)
                return profile
            except StateConflict:
                continue
        raise Es2Error(PROFILE_TYPE, "3.7", f"no more profiles available of type {profile_type!r}")

    def _operator(self, session: Session) -> str | None:
        """Who is calling: the operator's name, None for the administrator."""
        if callable(self.operator):
            self.operator = self.operator(session)  # resolved once per service (one call)
        return self.operator

    def _check_bound_eid(self, bound: str | None, given: str | None, *, required: bool) -> None:
        """SGP.22 §5.3.3: for an order bound to an EID, the caller names that EID (CancelOrder must,
        ReleaseProfile may); a different one is an invalid association. The administrator, who acts
        on the SM-DP+'s own data, need not name it (self.operator is resolved by _own_profile)."""
        if not bound:
            return
        if given is None:
            if required and self.operator is not None:
                raise Es2Error(EID, "2.2", "this order is bound to an EID: give the eid")
            return
        if given != bound:
            raise Es2Error(EID, "3.10", "a different EID is associated with this ICCID")

    def _move(self, profile: Profile, session: Session, event: Event, subject: str, reason: str) -> None:
        try:
            self.repo.transition(session, profile, event)
        except StateConflict:
            raise Es2Error(
                subject, reason, f"profile {profile.iccid} changed concurrently; try again"
            ) from None

    def _fresh_matching_id(self, session: Session) -> str:
        while True:
            candidate = new_matching_id(self.rng)
            if not self.repo.matching_id_in_use(session, candidate):
                return candidate

    @staticmethod
    def _required_iccid(body: dict[str, Any]) -> str:
        text = require_string(body, "iccid", Es2Error, ICCID)
        iccid = normalize_iccid(text)
        if iccid is None:
            raise Es2Error(ICCID, "2.1", f"not an ICCID: {text!r}")
        return iccid

    @staticmethod
    def _optional_iccid(body: dict[str, Any]) -> str | None:
        text = optional_string(body, "iccid", Es2Error, ICCID)
        if text is None:
            return None
        iccid = normalize_iccid(text)
        if iccid is None:
            raise Es2Error(ICCID, "2.1", f"not an ICCID: {text!r}")
        return iccid

    @staticmethod
    def _optional_eid(body: dict[str, Any]) -> str | None:
        eid = optional_string(body, "eid", Es2Error, EID)
        if eid is not None and not is_valid_eid(eid):
            raise Es2Error(EID, "2.1", f"not an EID (32 digits): {eid!r}")
        return eid or None

    @staticmethod
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

    @staticmethod
    def _optional_count(body: dict[str, Any], name: str) -> int | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ATTEMPTS:
            raise Es2Error(PROTOCOL_FORMAT, "2.1", f"{name} must be a whole number from 1 to {MAX_ATTEMPTS}")
        return value


def status_of(profile: Profile, now: datetime) -> dict[str, Any]:
    """The JSON view of one profile and its order (profileStatus, `smdp profile list --json`)."""
    order = profile.order
    status: dict[str, Any] = {
        "iccid": profile.iccid,
        "state": profile.state,
        "profileType": profile.profile_type,
        "operator": profile.operator.name,
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


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
