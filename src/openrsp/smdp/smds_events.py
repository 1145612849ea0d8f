"""The SM-DP+'s side of ES12 (SGP.22 §3.1.2, §5.9): an order confirmed with an SM-DS address becomes
an event at that SM-DS (eventId = the order's matchingId, rspServerAddress = this SM-DP+), and the
event is deleted when the order ends (installed, failed, cancelled, expired).

Both calls go through the outbox (openrsp.smdp.outbox), written in the transaction that confirms or
ends the order. ConfirmOrder also tries the registration at once, before it answers
(`register_now`): the operator hears at once whether the SM-DS has the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from openrsp.rspserver.es12_client import SmdsClient, SmdsRefused, SmdsTarget, SmdsUnreachable, ssl_context
from openrsp.smdp.errors import Es2Error
from openrsp.smdp.outbox import (
    DELIVERED,
    Deliverer,
    OutboxRefused,
    OutboxRetry,
    backoff,
    insert_values,
)
from openrsp.smdp.outbox import INSERT as INSERT_OUTBOX
from openrsp.smdp.states import State

REGISTER = "smds.registerEvent"
DELETE = "smds.deleteEvent"
SMDS = "8.9"
EVENT_UNKNOWN = ("8.9.5", "3.9")
INACCESSIBLE = "5.1"  # a reason that says "later", not "no"
# The order has ended: its event (if any) goes away.
END_STATES = frozenset({State.INSTALLED, State.ERROR, State.AVAILABLE, State.UNAVAILABLE})


def registration(eid: str, event_id: str, smdp_address: str) -> dict[str, Any]:
    # forwardingIndicator: an alternative SM-DS should forward the event to its root (SGP.22 §3.6.1).
    return {"eid": eid, "eventId": event_id, "rspServerAddress": smdp_address, "forwardingIndicator": True}


def deletion_values(order: Any, now: datetime) -> dict[str, Any] | None:
    """The outbox row that deletes an ended order's event, or None when it registered none."""
    if not getattr(order, "smds_address", None) or not order.eid or not order.matching_id:
        return None
    return insert_values(DELETE, order.smds_address, {"eid": order.eid, "eventId": order.matching_id}, now)


class SmdsDeliverer:
    """Delivers smds.* outbox rows over ES12 with the SM-DP+'s TLS certificate as client certificate."""

    def __init__(self, client: SmdsClient) -> None:
        self.client = client

    @classmethod
    def from_credentials(cls, credentials: Any, *, timeout: float = 10.0) -> SmdsDeliverer | None:
        """From SmdpCredentials (TLS chain and key, the CIs that issue SM-DS certificates); None without."""
        tls = getattr(credentials, "tls", None)
        if tls is None:
            return None
        context = ssl_context(tls.chain_file, tls.key_file, list(credentials.trusted_cis))
        return cls(SmdsClient(context, timeout=timeout))

    def __call__(self, kind: str, target: str, payload: dict[str, Any]) -> None:
        smds = SmdsTarget(target)
        try:
            if kind == REGISTER:
                self.client.register_event(
                    smds, payload["eid"], payload["eventId"], payload["rspServerAddress"],
                    forwarding=bool(payload.get("forwardingIndicator", True)),
                )  # fmt: skip
            elif kind == DELETE:
                self.client.delete_event(smds, payload["eid"], payload["eventId"])
            else:
                raise OutboxRefused(f"no deliverer for {kind}")
        except SmdsUnreachable as exc:
            raise OutboxRetry(str(exc)) from None
        except SmdsRefused as exc:
            if kind == DELETE and (exc.subject_code, exc.reason_code) == EVENT_UNKNOWN:
                return  # gone already (deleted before, or removed by the SM-DS's operator)
            if exc.reason_code == INACCESSIBLE:  # e.g. an alternative SM-DS whose root is down
                raise OutboxRetry(str(exc)) from None
            raise OutboxRefused(str(exc)) from None


@dataclass
class SmdsRegistrar:
    """What ConfirmOrder uses: queue the registration, try it now, say how it went."""

    deliver: Deliverer

    def register_now(
        self,
        connection: Connection,
        smds_address: str,
        eid: str,
        event_id: str,
        smdp_address: str,
        now: datetime,
    ) -> str | None:
        """Try to deliver the event now, and queue it in this transaction as delivered or pending.

        Refused by the SM-DS: Es2Error 8.9/4.2 (the caller's transaction, the confirmation, rolls
        back, and no row is written). Not reachable: the row stays pending for the outbox to retry,
        and the reason is returned for the caller to answer 8.9/5.1 once its transaction has
        committed (`pending_error`).
        """
        values = insert_values(REGISTER, smds_address, registration(eid, event_id, smdp_address), now)
        values["attempts"] = 1
        try:
            self.deliver(REGISTER, smds_address, dict(values["payload"]))
        except OutboxRefused as exc:
            raise Es2Error(SMDS, "4.2", f"the SM-DS refused the event registration: {exc}") from None
        except OutboxRetry as exc:
            values.update(last_error=str(exc), next_attempt_at=now + backoff(1))
            connection.execute(INSERT_OUTBOX, values)
            return str(exc)
        values.update(state=DELIVERED, delivered_at=now)
        connection.execute(INSERT_OUTBOX, values)
        return None


def pending_error(reason: str) -> Es2Error:
    """ConfirmOrder's answer when the SM-DS did not answer: SM-DS inaccessible (8.9/5.1)."""
    return Es2Error(
        SMDS, "5.1",
        f"the SM-DS is inaccessible ({reason}); the order is confirmed and the event registration "
        "stays queued until the SM-DS takes it",
    )  # fmt: skip
