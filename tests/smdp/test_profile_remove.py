"""`openrsp smdp profile remove`: profiles leave the inventory only when no download is under way
for them, all or none; the ICCID may then be imported again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from openrsp.smdp.db.models import Order, RspSession
from openrsp.smdp.errors import InventoryError
from openrsp.smdp.repository import NewProfile, Repository
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


def profile_in(repo: Repository, iccid: str, state: str) -> None:
    """A profile in `state`, with its order and an ES9+ session naming it."""
    repo.add_profiles([NewProfile(iccid=iccid, package=b"\xa0\x00", profile_type="test")], "op")
    with repo.transaction() as session:
        profile = repo.get_profile(session, iccid, lock=True)
        for event in PATHS[state]:
            if event is Event.DOWNLOAD_ORDER:
                repo.create_order(session, profile, eid=None, cc_max_attempts=3, max_download_attempts=5)
            repo.transition(session, profile, event, progress=False)
        repo.create_rsp_session(session, iccid[-16:].encode().hex()[:32], state="done", iccid=iccid)
    with repo.transaction() as session:
        assert repo.get_profile(session, iccid).state == state


def inventory(repo: Repository) -> dict[str, str]:
    with repo.transaction() as session:
        return {p.iccid: p.state for p in repo.list_profiles(session)}


def rows(repo: Repository, table: type) -> int:
    with repo.transaction() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_profiles_without_a_download_under_way_are_removed(repo: Repository) -> None:
    states = ["Available", "Unavailable", "Error", "Installed"]
    for number, state in enumerate(states):
        profile_in(repo, iccid_for(number), state)
    kept = iccid_for(9)
    profile_in(repo, kept, "Available")

    removed = repo.remove_profiles([iccid_for(n) for n in range(len(states))])

    assert removed == [(iccid_for(n), state) for n, state in enumerate(states)]
    assert inventory(repo) == {kept: "Available"}
    assert rows(repo, Order) == 0 and rows(repo, RspSession) == 1  # the kept profile's session only
    with repo.transaction() as session:  # the history stays, and says so
        assert [e.event for e in repo.events(session, iccid_for(3))][-2:] == ["installed", "removed"]
    # The ICCID is free again: the same profile can come back (TS.48 packages share ICCIDs).
    profile_in(repo, iccid_for(3), "Available")
    assert inventory(repo)[iccid_for(3)] == "Available"


@pytest.mark.parametrize("busy", ["Allocated", "Confirmed", "Released", "Downloaded"])
def test_a_profile_with_an_open_order_refuses_the_whole_call(repo: Repository, busy: str) -> None:
    profile_in(repo, iccid_for(1), "Available")
    profile_in(repo, iccid_for(2), busy)
    before = inventory(repo)
    with pytest.raises(InventoryError, match=rf"{iccid_for(2)} \({busy}\).*nothing removed"):
        repo.remove_profiles([iccid_for(1), iccid_for(2)])
    assert inventory(repo) == before
    assert rows(repo, RspSession) == 2


def test_an_unknown_iccid_refuses_the_whole_call(repo: Repository) -> None:
    profile_in(repo, iccid_for(1), "Installed")
    with pytest.raises(InventoryError, match=rf"not in the inventory: {iccid_for(7)}; nothing removed"):
        repo.remove_profiles([iccid_for(1), iccid_for(7)])
    assert inventory(repo) == {iccid_for(1): "Installed"}


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
