"""The inventory on SQLite and PostgreSQL: all-or-nothing imports, atomic state changes, races."""

import threading

import pytest
from store_support import event_names, move, profile

from openrsp.smdp.db import operators, orders, profiles
from openrsp.smdp.db.profiles import NewProfile
from openrsp.smdp.errors import Es2Error, InventoryError, StateConflict
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.states import Event, State


def new_profile(iccid: str, profile_type: str = "test") -> NewProfile:
    return NewProfile(iccid=iccid, package=b"\xa0" + iccid.encode(), profile_type=profile_type, ki=bytes(16))


def test_profiles_are_added_all_or_none(database):
    profiles.add_profiles(database, [new_profile("8900000000000000001")], "op")
    with pytest.raises(InventoryError, match="8900000000000000001"):
        profiles.add_profiles(
            database, [new_profile("8900000000000000002"), new_profile("8900000000000000001")], "op"
        )
    with pytest.raises(InventoryError, match="twice"):
        profiles.add_profiles(
            database, [new_profile("8900000000000000003"), new_profile("8900000000000000003")], "op"
        )
    with database.transaction() as connection:
        assert [p.iccid for p in profiles.list_profiles(connection)] == ["8900000000000000001"]


def test_packages_and_secrets_open_as_they_went_in(database):
    profiles.add_profiles(database, [new_profile("8900000000000000001")], "op")
    assert profiles.open_package(database, "8900000000000000001") == b"\xa08900000000000000001"
    assert profiles.open_secrets(database.sealer, profile(database, "8900000000000000001")).ki == bytes(16)
    with pytest.raises(InventoryError, match="not in the inventory"):
        profiles.open_package(database, "8900000000000000002")


def test_a_stale_state_is_never_overwritten(database):
    profiles.add_profiles(database, [new_profile("8900000000000000001")], "op")
    stale = profile(database, "8900000000000000001")
    assert move(database, "8900000000000000001", Event.DOWNLOAD_ORDER) is State.ALLOCATED
    with pytest.raises(StateConflict):
        move(database, "8900000000000000001", Event.DOWNLOAD_ORDER, stale=stale)  # still believes Available
    assert profile(database, "8900000000000000001").state == "Allocated"
    assert event_names(database, "8900000000000000001") == ["downloadOrder"]


def test_operators_are_created_once_and_updated_when_told(database, clock):
    with database.transaction() as connection:
        first = operators.ensure_operator(connection, "op", clock())
        again = operators.ensure_operator(connection, "op", clock(), callback_url="https://op.example/cb")
        cleared = operators.ensure_operator(connection, "op", clock(), callback_url="")
        assert first.id == again.id == cleared.id
        assert (again.callback_url, cleared.callback_url) == ("https://op.example/cb", None)
        assert [o.name for o in operators.list_operators(connection)] == ["op"]


def test_orders_are_found_by_matching_id_and_eid(database):
    profiles.add_profiles(database, [new_profile("8900000000000000001")], "op")
    service = Es2Service(database, operator="op", address="smdp.example")
    eid = "89049032123451234512345678901235"
    service.download_order({"iccid": "8900000000000000001", "eid": eid})
    mid = service.confirm_order({"iccid": "8900000000000000001", "releaseFlag": False})["matchingId"]
    owner = profile(database, "8900000000000000001")
    with database.transaction() as connection:
        assert orders.find_order_by_matching_id(connection, mid, lock=True).profile_id == owner.id
        assert [o.matching_id for o in orders.find_orders_for_eid(connection, eid)] == [mid]
        assert orders.matching_id_in_use(connection, mid) and not orders.matching_id_in_use(connection, "X")


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


def test_two_operators_racing_for_one_iccid_never_both_get_it(database):
    profiles.add_profiles(database, [new_profile("8900000000000000001")], "op")
    service = Es2Service(database, operator="op", address="smdp.example")
    results, errors = _race(6, lambda: service.download_order({"iccid": "8900000000000000001"}))
    assert results == [{"iccid": "8900000000000000001"}]
    assert len(errors) == 5
    assert all(
        isinstance(e, Es2Error) and (e.subject_code, e.reason_code) == ("8.2.1", "3.3") for e in errors
    )


def test_orders_by_profile_type_racing_each_get_a_different_profile(database):
    profiles.add_profiles(
        database, [new_profile("8900000000000000001"), new_profile("8900000000000000002")], "op"
    )
    service = Es2Service(database, operator="op", address="smdp.example")
    results, errors = _race(5, lambda: service.download_order({"profileType": "test"}))
    assert sorted(r["iccid"] for r in results) == ["8900000000000000001", "8900000000000000002"]
    assert len(errors) == 3
    assert all((e.subject_code, e.reason_code) == ("8.2.5", "3.7") for e in errors)


def test_two_lpas_racing_for_a_released_profile_one_gets_the_package(database):
    profiles.add_profiles(database, [new_profile("8900000000000000001")], "op")
    service = Es2Service(database, operator="op", address="smdp.example")
    service.download_order({"iccid": "8900000000000000001"})
    service.confirm_order({"iccid": "8900000000000000001", "releaseFlag": True})

    def deliver():
        with database.transaction() as connection:
            row = profiles.get_profile(connection, "8900000000000000001", lock=True)
            if row.state != State.RELEASED:
                raise StateConflict(row.iccid, "Released")
        return move(database, row.iccid, Event.BPP_DELIVERED, stale=row)

    results, errors = _race(6, deliver)
    assert results == [State.DOWNLOADED]
    assert len(errors) == 5 and all(isinstance(e, StateConflict) for e in errors)
