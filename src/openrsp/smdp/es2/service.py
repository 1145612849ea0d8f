"""ES2+ (operator → SM-DP+) around its core: each call reads a snapshot of the rows it concerns,
asks es2/core.py what to answer and store, and stores it, all in one DB transaction.

SGP.22 §5.3: downloadOrder, confirmOrder, cancelOrder, releaseProfile; plus `profileStatus`, an
openrsp extension. State changes go through db/order_moves.py (the state table, a conditional
update), so two racing callers never both get a profile: the loser gets the core's conflict answer.

`operator=None` is the administrator (the `openrsp smdp admin` commands): it may act on every
profile, as if it were the profile's own operator. `operator` may also be a function that names
the operator from inside the call's transaction (the HTTP layer resolves a client certificate so,
without a transaction of its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from openrsp.rspserver.ids import utcnow
from openrsp.smdp.db import operators, order_moves, orders, profiles
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.errors import Es2Error, StateConflict
from openrsp.smdp.es2 import core
from openrsp.smdp.es2.core import FUNCTION, OrderDefaults, status_of
from openrsp.smdp.rows import ProfileRow
from openrsp.smdp.smds_events import SmdsRegistrar
from openrsp.smdp.smds_events import pending_error as smds_pending_error

__all__ = ["EXTENSION_FUNCTIONS", "FUNCTIONS", "Es2Service", "OrderDefaults", "status_of"]

FUNCTIONS = ("downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile")
EXTENSION_FUNCTIONS = ("profileStatus",)


class Es2Service:
    def __init__(
        self,
        database: SmdpDatabase,
        *,
        operator: str | None | Callable[[Connection], str],
        address: str,
        defaults: OrderDefaults = OrderDefaults(),
        clock: Callable[[], datetime] = utcnow,
        rng: Callable[[int], bytes] = os.urandom,
        smds: SmdsRegistrar | None = None,
    ) -> None:
        self.smds = smds  # registers events at SM-DSs (confirmOrder with smdsAddress)
        self.database = database
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
        request = core.parse_download_order(body)
        with self.database.transaction() as connection:
            now = self.clock()
            caller = self._caller(connection)
            if request.iccid is None:
                return self._claim_by_type(connection, request, caller, now).response
            profile = profiles.get_profile(connection, request.iccid, lock=True)
            decision = core.download_order(request, caller, profile, now, self.defaults)
            self._apply(connection, decision, now)
            return decision.response

    def confirm_order(self, body: dict[str, Any]) -> dict[str, Any]:
        request = core.parse_confirm_order(body, self.address)
        with self.database.transaction() as connection:
            now = self.clock()
            caller = self._caller(connection)
            profile = profiles.get_profile(connection, request.iccid, lock=True)
            taken = bool(request.matching_id) and orders.matching_id_in_use(connection, request.matching_id)

            def decide() -> core.Decision:
                return core.confirm_order(
                    request, caller, profile, matching_id_taken=taken, smdp_address=self.address,
                    smds_reachable=self.smds is not None, now=now, rng=self.rng,
                )  # fmt: skip

            decision = decide()
            while decision.fresh_matching_id and orders.matching_id_in_use(
                connection, decision.fresh_matching_id
            ):
                decision = decide()  # draws another
            pending = self._apply(connection, decision, now)
        if pending is not None:  # committed: the outbox keeps trying
            raise smds_pending_error(pending)
        return decision.response

    def cancel_order(self, body: dict[str, Any]) -> dict[str, Any]:
        request = core.parse_cancel_order(body)
        return self._decide_and_apply(
            request.iccid, lambda caller, row, _: core.cancel_order(request, caller, row)
        )

    def release_profile(self, body: dict[str, Any]) -> dict[str, Any]:
        request = core.parse_release_profile(body)
        return self._decide_and_apply(
            request.iccid, lambda caller, row, _: core.release_profile(request, caller, row)
        )

    def profile_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """openrsp extension: where a profile and its order are."""
        request = core.parse_profile_status(body)
        return self._decide_and_apply(
            request.iccid, lambda caller, row, now: core.profile_status(request, caller, row, now), lock=False
        )

    # -- helpers --------------------------------------------------------------------------------

    def _decide_and_apply(
        self,
        iccid: str,
        decide: Callable[[str | None, ProfileRow | None, datetime], core.Decision],
        *,
        lock: bool = True,
    ) -> dict[str, Any]:
        with self.database.transaction() as connection:
            now = self.clock()
            caller = self._caller(connection)  # first: a caller of no operator learns nothing
            decision = decide(caller, profiles.get_profile(connection, iccid, lock=lock), now)
            self._apply(connection, decision, now)
            return decision.response

    def _claim_by_type(
        self, connection: Connection, request: core.DownloadOrderRequest, caller: str | None, now: datetime
    ) -> core.Decision:
        """The first Available profile of the type we win, ordered: a claim another caller makes
        first (its Move has no conflict answer, so StateConflict comes through, before any other
        effect is stored) makes us try the next one."""
        name = core.claimable_by_type(request, caller)
        assert request.profile_type is not None
        owner = operators.ensure_operator(connection, name, now)
        known = profiles.profile_type_known(connection, owner.id, request.profile_type)
        for _ in range(core.CLAIM_TRIES):
            candidate = profiles.find_available(connection, owner.id, request.profile_type) if known else None
            decision = core.download_order_by_type(request, known, candidate, now, self.defaults)
            try:
                self._apply(connection, decision, now)
            except StateConflict:
                continue
            return decision
        raise core.no_profile_left(request)

    def _caller(self, connection: Connection) -> str | None:
        """Who is calling: the operator's name, None for the administrator."""
        if callable(self.operator):
            self.operator = self.operator(connection)  # resolved once per service (one call)
        return self.operator

    def _apply(self, connection: Connection, decision: core.Decision, now: datetime) -> str | None:
        """Store the decision's effects, in order; an SM-DS registration not delivered yet: its reason."""
        profile = decision.profile
        pending = None
        for effect in decision.effects:
            if isinstance(effect, core.Move):
                profile = self._apply_move(connection, profile, effect, now)
            elif isinstance(effect, core.CreateOrder):
                orders.create_order(
                    connection, profile.id, now, eid=effect.eid, cc_max_attempts=effect.cc_max_attempts,
                    max_download_attempts=effect.max_download_attempts, expires_at=effect.expires_at,
                )  # fmt: skip
            elif isinstance(effect, core.UpdateOrder):
                assert profile.order is not None
                try:
                    orders.update_order(connection, profile.order.id, effect.values)
                except IntegrityError:
                    if effect.conflict is None:
                        raise
                    raise effect.conflict from None
                profile = replace(profile, order=replace(profile.order, **effect.values))
            elif isinstance(effect, core.DropOrder):
                orders.drop_order(connection, profile.id)
                profile = replace(profile, order=None)
            elif isinstance(effect, core.RegisterEvent):
                assert self.smds is not None  # the core refuses an SM-DS address without it
                pending = self.smds.register_now(
                    connection, effect.smds_address, effect.eid, effect.event_id, self.address, now
                )
        return pending

    @staticmethod
    def _apply_move(
        connection: Connection, profile: ProfileRow, move: core.Move, now: datetime
    ) -> ProfileRow:
        try:
            new = order_moves.move(connection, order_moves.subject_of(profile), move.event, now)
        except StateConflict:
            if move.conflict is None:
                raise
            raise move.conflict from None
        return replace(profile, state=new.value, updated_at=now)
