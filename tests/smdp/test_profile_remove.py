"""`openrsp smdp profile remove`: profiles leave the inventory only when no download is under way
for them, all or none; the ICCID may then be imported again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import insert
from store_support import count, event_names, inventory

from openrsp.smdp.db import order_moves, orders
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.models import Order, RspSession
from openrsp.smdp.db.profiles import NewProfile, add_profiles, get_profile, remove_profiles
from openrsp.smdp.errors import InventoryError
from openrsp.smdp.states import Event

# The events that take an Available profile to each state (an order is made on the way).
PATHS = {
    "Available": [],
    "Allocated": [Event.DOWNLOAD_ORDER],
    "Confirmed": [Event.DOWNLOAD_ORDER, Event.CONFIRM],
    "Released": [Event.DOWNLOAD_ORDER, Event.CONFIRM, Event.RELEASE],
    "Downloaded": [Event.DOWNLOAD_ORDER, Event.CONFIRM, Event.RELEASE, Event.BPP_DELIVERED],
    "Installed": [Event.DOWNLOAD_ORDER, Event.CONFIRM, Event.RELEASE, Event.BPP_DELIVERED, Event.INSTALLED],
    "Error": [Event.DOWNLOAD_ORDER, Event.CONFIRM, Event.RELEASE, Event.SESSION_FAILED],
    "Unavailable": [Event.DOWNLOAD_ORDER, Event.CANCEL_TO_UNAVAILABLE],
}


def iccid_for(number: int) -> str:
    return f"89000000000000{number:05d}"


def profile_in(database: SmdpDatabase, iccid: str, state: str) -> None:
    """A profile in `state`, with its order and an ES9+ session naming it."""
    add_profiles(database, [NewProfile(iccid=iccid, package=b"\xa0\x00", profile_type="test")], "op")
    now = database.clock()
    with database.transaction() as connection:
        row = get_profile(connection, iccid, lock=True)
        for event in PATHS[state]:
            if event is Event.DOWNLOAD_ORDER:
                orders.create_order(
                    connection, row.id, now, eid=None, cc_max_attempts=3, max_download_attempts=5
                )
            row = get_profile(connection, iccid, lock=True)
            order_moves.move(connection, order_moves.subject_of(row), event, now, point=False)
        session = {"transaction_id": iccid[-16:].encode().hex()[:32].upper(), "state": "done", "iccid": iccid}
        connection.execute(
            insert(RspSession.__table__), {**session, "data": {}, "created_at": now, "updated_at": now}
        )
    assert inventory(database)[iccid] == state


def test_profiles_without_a_download_under_way_are_removed(database: SmdpDatabase) -> None:
    states = ["Available", "Unavailable", "Error", "Installed"]
    for number, state in enumerate(states):
        profile_in(database, iccid_for(number), state)
    kept = iccid_for(9)
    profile_in(database, kept, "Available")

    removed = remove_profiles(database, [iccid_for(n) for n in range(len(states))])

    assert removed == [(iccid_for(n), state) for n, state in enumerate(states)]
    assert inventory(database) == {kept: "Available"}
    assert count(database, Order) == 0 and count(database, RspSession) == 1  # the kept profile's session only
    assert event_names(database, iccid_for(3))[-2:] == [
        "installed",
        "removed",
    ]  # the history stays, and says so
    # The ICCID is free again: the same profile can come back (TS.48 packages share ICCIDs).
    profile_in(database, iccid_for(3), "Available")
    assert inventory(database)[iccid_for(3)] == "Available"


@pytest.mark.parametrize("busy", ["Allocated", "Confirmed", "Released", "Downloaded"])
def test_a_profile_with_an_open_order_refuses_the_whole_call(database: SmdpDatabase, busy: str) -> None:
    profile_in(database, iccid_for(1), "Available")
    profile_in(database, iccid_for(2), busy)
    before = inventory(database)
    with pytest.raises(InventoryError, match=rf"{iccid_for(2)} \({busy}\).*nothing removed"):
        remove_profiles(database, [iccid_for(1), iccid_for(2)])
    assert inventory(database) == before
    assert count(database, RspSession) == 2


def test_an_unknown_iccid_refuses_the_whole_call(database: SmdpDatabase) -> None:
    profile_in(database, iccid_for(1), "Installed")
    with pytest.raises(InventoryError, match=rf"not in the inventory: {iccid_for(7)}; nothing removed"):
        remove_profiles(database, [iccid_for(1), iccid_for(7)])
    assert inventory(database) == {iccid_for(1): "Installed"}


def test_the_command_line(cli, tmp_path: Path) -> None:
    data = ["--data", str(tmp_path / "data")]
    free, ordered = "8949000000000000018", "8949000000000000026"
    for iccid, imsi in ((free, "001010000000001"), (ordered, "001010000000002")):
        cli("smdp", "profile", "generate", "--iccid", iccid, "--imsi", imsi, *data, check=True)
    cli("smdp", "admin", *data, "order", "--iccid", ordered, check=True)

    refused = cli("smdp", "profile", "remove", free, ordered, *data)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"error: a download order is open for {ordered} (Allocated)")
    assert "nothing removed" in refused.stderr

    done = cli("smdp", "profile", "remove", free, "--json", *data, check=True)
    assert json.loads(done.stdout) == [{"iccid": free, "state": "Available"}]
    listed = json.loads(cli("smdp", "profile", "list", "--json", *data, check=True).stdout)
    assert [(p["iccid"], p["state"]) for p in listed] == [(ordered, "Allocated")]

    cli("smdp", "admin", *data, "cancel", "--iccid", ordered, "--reason", "unavailable", check=True)
    text = cli("smdp", "profile", "remove", ordered, *data, check=True).stdout
    assert text.strip() == f"{ordered} removed (was Unavailable)"
    assert json.loads(cli("smdp", "profile", "list", "--json", *data, check=True).stdout) == []
