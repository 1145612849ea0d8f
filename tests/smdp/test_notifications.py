"""handleNotification: a well-formed notification is always acknowledged, stored at most once.

SGP.22 gives handleNotification no business error and the LPA removes a notification from the
eUICC only once it is acknowledged, so one that does not match what the SM-DP+ knows (another
ICCID, an unknown transaction, a forged signature …) gets 204 too, changes nothing and leaves one
warning line; a replay (same EID and seqNumber) is not stored again. Malformed input is refused.
"""

from __future__ import annotations

import os

import es9_harness
import pytest
from es9_harness import ES9_HEADERS, SoftEuicc, b64, download, ok
from smdp_support import SMDP_HOST, Served, create_database, drop_database
from sqlalchemy import func, select, text

from openrsp.asn1.rsp_types import NotificationEvent
from openrsp.pki.credentials import SmdpCredentials
from openrsp.smdp.db.engine import MIGRATIONS_DIR, make_engine, migrate, sqlite_url
from openrsp.smdp.db.models import Notification

clock = es9_harness.clock
rig = es9_harness.rig
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package

ICCID = "8949449999999990023"  # no rig profile has it


def _warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "openrsp.smdp.es9" and r.levelname == "WARNING"
    ]


def test_a_notification_replayed_2000_times_is_stored_once(rig, caplog):
    note = rig.euicc.other_notification(NotificationEvent.ENABLE, ICCID, rig.address, seq=7)
    for _ in range(2000):
        ok(rig.call("handleNotification", {"pendingNotification": b64(note)}))
    [row] = rig.notifications()
    assert (row.event, row.seq, row.eid, row.raw) == ("enable", 7, rig.euicc.eid, note)
    assert len(_warnings(caplog)) == 1999  # one line per replay, no traceback
    assert all("already recorded" in line for line in _warnings(caplog))
    # The next notification of the card (a new seqNumber) is stored as usual.
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.other_notification(2, ICCID, rig.address, seq=8))},
        )
    )
    assert [n.seq for n in rig.notifications()] == [7, 8]


def test_an_install_result_for_another_iccid_is_acknowledged_and_changes_nothing(rig, caplog):
    iccid, matching_id = rig.released_profile()
    download(rig.call, rig.euicc, rig.address, matching_id)
    other = rig.euicc.install_result(ICCID, rig.address, rig.oid)
    ok(rig.call("handleNotification", {"pendingNotification": b64(other)}))
    assert rig.state(iccid) == "Downloaded" and rig.notifications() == []
    [line] = _warnings(caplog)
    assert "nothing recorded" in line and ICCID in line
    # the session is untouched: the right result still installs
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.install_result(iccid, rig.address, rig.oid))},
        )
    )
    assert rig.state(iccid) == "Installed"


def test_an_install_result_for_an_unknown_transaction_is_acknowledged_and_changes_nothing(rig, caplog):
    iccid, matching_id = rig.released_profile()
    download(rig.call, rig.euicc, rig.address, matching_id)
    unknown = rig.euicc.install_result(iccid, rig.address, rig.oid, transaction_id=os.urandom(16))
    ok(rig.call("handleNotification", {"pendingNotification": b64(unknown)}))
    assert rig.state(iccid) == "Downloaded" and rig.notifications() == []
    [line] = _warnings(caplog)
    assert "8.10.1/3.9" in line


def test_a_second_notification_with_a_sequence_number_already_seen_is_not_stored(rig):
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.other_notification(1, ICCID, rig.address, seq=3))},
        )
    )
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.other_notification(3, ICCID, rig.address, seq=3))},
        )
    )
    assert [(n.event, n.seq) for n in rig.notifications()] == [("enable", 3)]


# -- over HTTPS, against `openrsp smdp serve` (SQLite and PostgreSQL) ---------------------------------

pytest_served = pytest.mark.xdist_group("smdp-served")


def _post(http, body: dict | bytes):
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    return http.post(
        "/gsma/rsp2/es9plus/handleNotification",
        headers={**ES9_HEADERS, "Content-Type": "application/json"},
        extensions={"sni_hostname": SMDP_HOST},
        **kwargs,
    )


def _rows(db_url: str, eid: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(Notification).where(Notification.eid == eid)
            return connection.execute(query).scalar_one()
    finally:
        engine.dispose()


@pytest_served
def test_over_https_mismatching_notifications_get_204_and_replays_leave_one_row(
    served: Served, pki_dir, lpa_cert
):
    server = served.server
    euicc = SoftEuicc.load(pki_dir, "nist")
    address = SmdpCredentials.load(pki_dir).address
    oid = SmdpCredentials.load(pki_dir).oid
    seq = 900  # no other test sends this card's notification 900 to the shared server
    before = _rows(served.db_url, euicc.eid)
    note = euicc.other_notification(NotificationEvent.DELETE, ICCID, address, seq=seq)
    with server.client(lpa_cert) as http:
        for _ in range(50):
            response = _post(http, {"pendingNotification": b64(note)})
            assert (response.status_code, response.content) == (204, b"")
        # an install result for a transaction the server never saw: acknowledged all the same
        stray = euicc.install_result(ICCID, address, oid, seq=seq + 1, transaction_id=os.urandom(16))
        assert _post(http, {"pendingNotification": b64(stray)}).status_code == 204
        # malformed DER is still refused
        malformed = _post(http, {"pendingNotification": b64(b"\x04\x02\x00\x00")})
        assert malformed.status_code == 200
        status = malformed.json()["header"]["functionExecutionStatus"]
        assert (status["status"], status["statusCodeData"]["reasonCode"]) == ("Failed", "2.1")
    assert _rows(served.db_url, euicc.eid) == before + 1
    assert "Traceback" not in server.log.read_text()


# -- the migration that brings the unique index drops duplicates stored before ------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_keeps_one_row_of_each_replayed_notification(backend, tmp_path):
    from alembic import command
    from alembic.config import Config

    url = sqlite_url(tmp_path / "old.sqlite") if backend == "sqlite" else create_database("openrsp_notif")
    engine = make_engine(url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")  # the schema before this change
        insert = text(
            "INSERT INTO notifications (seq, eid, iccid, event, raw, received_at) "
            "VALUES (:seq, :eid, NULL, 'enable', :raw, CURRENT_TIMESTAMP)"
        )
        with engine.begin() as connection:
            for seq in (1, 1, 1, 2, None, None):
                connection.execute(
                    insert, {"seq": seq, "eid": "89049032123451234512345678901235", "raw": b"x"}
                )
        migrate(engine)
        with engine.connect() as connection:
            seqs = sorted(connection.execute(text("SELECT seq FROM notifications")).scalars(), key=str)
        assert seqs == sorted([1, 2, None, None], key=str)
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_database(url)
