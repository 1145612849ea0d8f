"""The inventory on SQLite and PostgreSQL: all-or-nothing imports, atomic state changes, races."""

import threading

import pytest
from sqlalchemy import select

from openrsp.smdp.db.models import Notification
from openrsp.smdp.errors import Es2Error, InventoryError, StateConflict
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.repository import NewProfile
from openrsp.smdp.states import Event, State


def new_profile(iccid: str, profile_type: str = "test") -> NewProfile:
    return NewProfile(iccid=iccid, package=b"\xa0" + iccid.encode(), profile_type=profile_type, ki=bytes(16))


def test_profiles_are_added_all_or_none(repo):
    repo.add_profiles([new_profile("8900000000000000001")], "op")
    with pytest.raises(InventoryError, match="8900000000000000001"):
        repo.add_profiles([new_profile("8900000000000000002"), new_profile("8900000000000000001")], "op")
    with pytest.raises(InventoryError, match="twice"):
        repo.add_profiles([new_profile("8900000000000000003"), new_profile("8900000000000000003")], "op")
    with repo.transaction() as session:
        assert [p.iccid for p in repo.list_profiles(session)] == ["8900000000000000001"]


def test_a_stale_state_is_never_overwritten(repo):
    repo.add_profiles([new_profile("8900000000000000001")], "op")
    with repo.transaction() as session:
        stale = repo.get_profile(session, "8900000000000000001")
    with repo.transaction() as session:
        fresh = repo.get_profile(session, "8900000000000000001", lock=True)
        assert repo.transition(session, fresh, Event.DOWNLOAD_ORDER) is State.ALLOCATED
    with pytest.raises(StateConflict), repo.transaction() as session:
        repo.transition(session, stale, Event.DOWNLOAD_ORDER)  # still believes it is Available
    with repo.transaction() as session:
        profile = repo.get_profile(session, "8900000000000000001")
        assert profile.state == "Allocated"
        assert [(e.from_state, e.to_state) for e in repo.events(session, profile.iccid)] == [
            ("Available", "Allocated")
        ]


def _race(count: int, action) -> tuple[list, list]:
    """Run `action` in `count` threads released together; (results, errors)."""
    barrier = threading.Barrier(count)
    results, errors, lock = [], [], threading.Lock()

    def run():
        barrier.wait()
        try:
            value = action()
            with lock:
                results.append(value)
        except Exception as exc:  # collected and checked by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


def test_two_operators_racing_for_one_iccid_never_both_get_it(repo):
    repo.add_profiles([new_profile("8900000000000000001")], "op")
    service = Es2Service(repo, operator="op", address="smdp.example")
    results, errors = _race(6, lambda: service.download_order({"iccid": "8900000000000000001"}))
    assert results == [{"iccid": "8900000000000000001"}]
    assert len(errors) == 5
    assert all(
        isinstance(e, Es2Error) and (e.subject_code, e.reason_code) == ("8.2.1", "3.3") for e in errors
    )


def test_orders_by_profile_type_racing_each_get_a_different_profile(repo):
    repo.add_profiles([new_profile("8900000000000000001"), new_profile("8900000000000000002")], "op")
    service = Es2Service(repo, operator="op", address="smdp.example")
    results, errors = _race(5, lambda: service.download_order({"profileType": "test"}))
    assert sorted(r["iccid"] for r in results) == ["8900000000000000001", "8900000000000000002"]
    assert len(errors) == 3
    assert all((e.subject_code, e.reason_code) == ("8.2.5", "3.7") for e in errors)


def test_two_lpas_racing_for_a_released_profile_one_gets_the_package(repo):
    repo.add_profiles([new_profile("8900000000000000001")], "op")
    service = Es2Service(repo, operator="op", address="smdp.example")
    service.download_order({"iccid": "8900000000000000001"})
    service.confirm_order({"iccid": "8900000000000000001", "releaseFlag": True})

    def deliver():
        with repo.transaction() as session:
            profile = repo.get_profile(session, "8900000000000000001", lock=True)
            if profile.state != State.RELEASED:
                raise StateConflict(profile.iccid, "Released")
            return repo.transition(session, profile, Event.BPP_DELIVERED)

    results, errors = _race(6, deliver)
    assert results == [State.DOWNLOADED]
    assert len(errors) == 5 and all(isinstance(e, StateConflict) for e in errors)


def test_rsp_sessions_keep_the_es9_handlers_data(repo, clock):
    repo.add_profiles([new_profile("8900000000000000001")], "op")
    with repo.transaction() as session:
        repo.create_rsp_session(session, bytes.fromhex("00112233445566778899AABBCCDDEEFF"), state="initiated")
    with repo.transaction() as session:
        row = repo.get_rsp_session(session, "00112233445566778899aabbccddeeff", lock=True)
        row.data["serverChallenge"] = "AB" * 16
        row.iccid = "8900000000000000001"
        repo.touch_rsp_session(session, row, state="authenticated")
    with repo.transaction() as session:
        row = repo.get_rsp_session(session, "00112233445566778899AABBCCDDEEFF")
        assert (row.state, row.iccid, row.data) == (
            "authenticated",
            "8900000000000000001",
            {"serverChallenge": "AB" * 16},
        )
        assert row.updated_at == clock()


def test_received_notifications_are_kept(repo):
    with repo.transaction() as session:
        repo.record_notification(
            session, event_="install", raw=b"\xbf\x37\x00", seq=7, eid="1" * 32, result="ok"
        )
    with repo.transaction() as session:
        rows = list(session.scalars(select(Notification)))
        assert [(n.seq, n.event, n.raw, n.result) for n in rows] == [(7, "install", b"\xbf\x37\x00", "ok")]
