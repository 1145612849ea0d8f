"""SM-DS discovery (SGP.22 §3.6.3): the order is confirmed with the lab's SM-DS address and the card's
EID, so the SM-DP+ registers an event there (ES12, eventId = the matchingId). The DUT is only told to
check for eSIMs: a conformant LPA asks its root SM-DS (ES11), downloads from the SM-DP+ the event
names with the eventId as matchingId, and once the install notification has ended the order the
SM-DP+ deletes the event at the SM-DS."""

from __future__ import annotations

import time

from openrsp.lab.cases.checks import check, dut_said, installed_once, order_state
from openrsp.lab.context import CaseContext
from openrsp.lab.model import Action, Check, Prepared, Step

ES11 = ("initiateAuthentication", "authenticateClient")
DELETION_WAIT = 15.0  # the SM-DP+'s outbox worker runs every second; a deletion retried takes longer
SMDS = "smds"  # the lab's SM-DS listener in the exchange


def smds_discovery(ctx: CaseContext) -> Prepared:
    server, eid = ctx.server, ctx.card.eid
    if eid is None:
        return Prepared((), not_applicable="needs a card the lab can configure (--card virtual or pcsc)")
    address = server.smds_address()
    if server.smds is None or address is None:
        return Prepared((), not_applicable=f"the lab has no SM-DS: {server.smds_unavailable}")
    server.smds.forget(eid)  # whatever an earlier case left: the event of this case is the first
    previous = set_root_smds(ctx, address)
    iccid = server.new_profile("Lab SM-DS discovery")
    order = server.order(iccid, eid=eid, smds_address=address)
    registered = [e.event_id for e in server.smds.events(eid)]
    facts = {"iccid": iccid, "event_id": order.matching_id, "smds": address, "registered": registered}
    return Prepared(
        (Step(Action.DISCOVER, note="no activation code: the device finds the eSIM itself"),),
        facts,
        cleanup=lambda: set_root_smds(ctx, previous),
    )


def set_root_smds(ctx: CaseContext, address: str) -> str:
    """Make the eUICC's root SM-DS `address` (ES10a GetEuiccConfiguredAddresses), as its EUM would
    have; the address it had before. The lab's card is made with the lab's SM-DS already."""
    from openrsp.euicc.store import open_euicc

    assert ctx.card.directory is not None
    with open_euicc(ctx.card.directory).transaction() as state:
        previous = state.root_smds
        state.root_smds = address
    return previous


def judge_discovery(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid, event_id = p.facts["iccid"], p.facts["event_id"]
    es11 = ctx.calls(listener=SMDS)
    asked = [e for e in es11 if e.function in ES11]
    downloads = [
        e for e in ctx.calls("authenticateClient")
        if e.request.get("euicc") == "ok" and e.request.get("matchingId") == event_id
    ]  # fmt: skip
    first_es9 = next((e.seq for e in ctx.calls()), None)
    checks = [
        check(
            "the event was registered at the lab's SM-DS",
            event_id in p.facts["registered"],
            f"events for the EID: {p.facts['registered']}",
        ),  # fmt: skip
        dut_said(ctx, 0, True),
        check(
            "ES11 at the SM-DS: initiateAuthentication → authenticateClient, both executed",
            [e.function for e in asked][:2] == list(ES11)
            and all(e.status == "Executed-Success" for e in asked[:2]),
            " → ".join(f"{e.function} {e.status}" for e in asked) or "no ES11 request at the SM-DS",
        ),
        check(
            "the SM-DS asked before the SM-DP+",
            bool(asked) and (first_es9 is None or asked[0].seq < first_es9),
            f"first ES11 #{asked[0].seq if asked else '-'}, first ES9+ #{first_es9 if first_es9 else '-'}",
        ),
        check(
            "download at the SM-DP+ with the eventId as matchingId",
            any(e.status == "Executed-Success" for e in downloads),
            f"matchingIds sent: {[e.request.get('matchingId') for e in ctx.calls('authenticateClient')]}",
        ),
        *installed_once(ctx, iccid),
        order_state(ctx, iccid, "Installed"),
        _event_deleted(ctx, p),
    ]
    return checks


def _event_deleted(ctx: CaseContext, p: Prepared) -> Check:
    """The SM-DP+ deletes the event once the order has ended (its outbox, a moment after the install
    notification): wait for it a bounded while, only when the profile was installed."""
    smds, eid, event_id = ctx.server.smds, ctx.card.eid, p.facts["event_id"]
    assert smds is not None and eid is not None

    def left() -> list[str]:
        return [e.event_id for e in smds.events(eid) if e.event_id == event_id]

    if ctx.server.state(p.facts["iccid"]) == "Installed":
        deadline = time.monotonic() + DELETION_WAIT
        while left() and time.monotonic() < deadline:
            time.sleep(0.1)
        ctx.exchange = ctx.server.recorder.rows()  # the ES12 deleteEvent belongs in the trace
    deletions = [e for e in ctx.calls("deleteEvent", listener=SMDS) if e.request.get("eventId") == event_id]
    return check(
        "the event deleted at the SM-DS afterwards (ES12 deleteEvent)",
        not left() and any(e.status == "Executed-Success" for e in deletions),
        f"still there: {bool(left())}; deleteEvent: {[e.status for e in deletions]}",
    )
