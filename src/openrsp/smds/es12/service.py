"""ES12 (SM-DP+ -> SM-DS) and ES15 (alternative SM-DS -> root SM-DS): RegisterEvent and DeleteEvent.

SGP.22 §5.9, §5.10. A request body in, response fields out (or an SmdsError), over the event
store. Who calls is decided by the HTTP layer (a TLS client certificate of the right role); it
passes the caller's name, which is kept with each record: an SM-DP+ deletes only its own events.

Registering the same event twice is not an error (the caller's outbox may resend after a lost
answer); a record with the same EID and eventId for another server is (8.9.5/3.3). Deleting an
event that is not there answers 8.9.5/3.9, which the caller's outbox takes as "already gone".

An SM-DS configured as *alternative* forwards a registration whose forwardingIndicator is true to
its root SM-DS over ES15, naming itself as the RSP server (SGP.22's cascade: a device that asks
the root is sent on to the alternative, which names the SM-DP+). The forward happens before the
record is written: if the root cannot be reached, the registration fails (8.9/5.1) and the SM-DP+
keeps it in its outbox and tries again later, so nothing is registered halfway.
"""

from __future__ import annotations

import re
from typing import Any

from openrsp.rspserver.ids import is_valid_eid
from openrsp.smds import status
from openrsp.smds.es15.forwarding import RootLink
from openrsp.smds.store import EventConflict, EventStore

MAX_EVENT_ID = 255  # SGP.22: the eventId is a MatchingID, UTF8String up to 255 characters
_ADDRESS = re.compile(r"^(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")
_EVENT_ID = re.compile(r"^[\x21-\x7E]{1,255}$")


class Es12Service:
    def __init__(self, store: EventStore, *, root: RootLink | None = None) -> None:
        self.store = store
        self.root = root

    def register_event(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        eid, event_id = _eid(body), _event_id(body)
        address = _string(body, "rspServerAddress")
        if not _ADDRESS.match(address):
            raise status.INVALID_INPUT.error("rspServerAddress must be a host name, optionally with :port")
        forwarding = body.get("forwardingIndicator", False)
        if not isinstance(forwarding, bool):
            raise status.INVALID_INPUT.error("forwardingIndicator must be true or false")
        with self.store.transaction() as conn:
            existing = self.store.find(conn, eid, event_id)
        if any(r.rsp_server_address.lower() == address.lower() for r in existing):
            return {}  # registered before: the caller did not hear the answer
        if existing:
            raise status.EVENT_IN_USE.error(f"eventId {event_id}")
        forwarded = None
        if forwarding and self.root is not None:
            self.root.register(eid, event_id)
            forwarded = self.root.target.address
        try:
            with self.store.transaction() as conn:
                if self.store.find(conn, eid, event_id):  # someone registered it meanwhile
                    raise EventConflict()
                self.store.add(conn, eid, event_id, address, caller, forwarded)
        except EventConflict:
            raise status.EVENT_IN_USE.error(f"eventId {event_id}") from None
        return {}

    def delete_event(self, body: dict[str, Any], caller: str) -> dict[str, Any]:
        eid, event_id = _eid(body), _event_id(body)
        with self.store.transaction() as conn:
            mine = [r for r in self.store.find(conn, eid, event_id) if r.registrar == caller]
        if not mine:
            raise status.EVENT_UNKNOWN.error(f"eventId {event_id} for this EID")
        if any(r.forwarded for r in mine) and self.root is not None:
            self.root.delete(eid, event_id)
        with self.store.transaction() as conn:
            self.store.remove(conn, [r.id for r in mine])
        return {}


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise status.MISSING_INPUT.error(f"{name} is missing")
    if not isinstance(value, str):
        raise status.INVALID_INPUT.error(f"{name} must be a string")
    return value


def _eid(body: dict[str, Any]) -> str:
    eid = _string(body, "eid")
    if not is_valid_eid(eid):
        raise status.INVALID_EID.error("32 decimal digits")
    return eid


def _event_id(body: dict[str, Any]) -> str:
    event_id = _string(body, "eventId")
    if not _EVENT_ID.match(event_id):
        raise status.INVALID_INPUT.error(f"eventId must be 1 to {MAX_EVENT_ID} printable characters")
    return event_id
