"""The ES9+ core without a database: bytes and values in (requests, rows, `now`, randomness), answers
and the effects to store out. Its storage here is a dict behind es9/views.py's interface, with the
same state tables (states.py, rsp_session.py); the crypto is the real one, the eUICC the test card."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import es9_harness
import pytest
from es9_harness import SoftEuicc, b64, codes, download, in_process, ok

from openrsp.rspserver import status
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp import prepared_package
from openrsp.smdp.config import SmdpConfig
from openrsp.smdp.context import SmdpContext
from openrsp.smdp.errors import StateConflict
from openrsp.smdp.es2.points import DEFAULT_PROGRESS
from openrsp.smdp.es9.service import Es9Service
from openrsp.smdp.es9.views import OrderView, ProfileView, SessionRow
from openrsp.smdp.states import Event, State, next_state

clock = es9_harness.clock
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package

ICCID = "8900012345678900001"
MATCHING_ID = "CORE-ONE"


@dataclass
class Rows:
    """What the core stored: the rows, and the effects it asked for (events, progress reports)."""

    profiles: dict[str, ProfileView] = field(default_factory=dict)
    packages: dict[str, prepared_package.PreparedPackage] = field(default_factory=dict)
    sessions: dict[str, SessionRow] = field(default_factory=dict)
    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    reports: list[tuple[str, int, bool]] = field(default_factory=list)
    notifications: list[tuple[str | None, int | None, str]] = field(default_factory=list)


class MemoryTx:
    def __init__(self, rows: Rows, now: Any) -> None:
        self.rows = rows
        self.now = now

    def get_session(self, transaction_id: str) -> SessionRow | None:
        return copy.deepcopy(self.rows.sessions.get(transaction_id))

    def save_session(self, row: SessionRow) -> None:
        row.stored = True
        self.rows.sessions[row.transaction_id] = copy.deepcopy(row)

    def bound_sessions(self, iccid: str, eid: str, state: str) -> list[SessionRow]:
        found = [s for s in self.rows.sessions.values() if (s.iccid, s.eid, s.state) == (iccid, eid, state)]
        return copy.deepcopy(sorted(found, key=lambda s: s.updated_at, reverse=True))

    def purge_expired_sessions(self) -> int:
        gone = [
            t for t, s in self.rows.sessions.items() if s.expires_at is not None and s.expires_at < self.now()
        ]
        for transaction_id in gone:
            del self.rows.sessions[transaction_id]
        return len(gone)

    def profile_by_iccid(self, iccid: str, *, with_package: bool = False) -> ProfileView | None:
        return copy.deepcopy(self.rows.profiles.get(iccid))

    def profile_by_matching_id(self, matching_id: str) -> ProfileView | None:
        found = [p for p in self.rows.profiles.values() if p.order and p.order.matching_id == matching_id]
        return copy.deepcopy(found[0]) if found else None

    def profiles_ordered_for_eid(self, eid: str) -> list[ProfileView]:
        return copy.deepcopy([p for p in self.rows.profiles.values() if p.order and p.order.eid == eid])

    def save_order(self, order: OrderView, **values: Any) -> None:
        for name, value in values.items():
            setattr(order, name, value)
        stored = next(p.order for p in self.rows.profiles.values() if p.order and p.order.id == order.id)
        for name, value in values.items():
            setattr(stored, name, copy.deepcopy(value))

    def transition(self, profile: ProfileView, event_: Event, *, detail=None, progress=None) -> State:
        stored = self.rows.profiles[profile.iccid]
        if stored.state != profile.state:
            raise StateConflict(profile.iccid, profile.state)
        new = next_state(State(profile.state), event_)
        self.rows.events.append((profile.iccid, Event(event_).value, profile.state, new.value))
        point = DEFAULT_PROGRESS.get(Event(event_)) if progress is None else progress
        if point:
            self.rows.reports.append((profile.iccid, point.point_id, point.success))
        stored.state = profile.state = new.value
        return new

    def report_progress(self, profile: ProfileView, point: Any, *, event_: str) -> None:
        self.rows.events.append((profile.iccid, event_, profile.state, profile.state))
        self.rows.reports.append((profile.iccid, point.point_id, point.success))

    def record_notification(
        self, *, event_: str, raw: bytes, seq=None, eid=None, iccid=None, result=None
    ) -> bool:
        if eid is not None and seq is not None and any(n[:2] == (eid, seq) for n in self.rows.notifications):
            return False
        self.rows.notifications.append((eid, seq, event_))
        return True


class MemoryStorage:
    """Es9Storage over Rows: a transaction that raises leaves the rows as they were."""

    def __init__(self, rows: Rows, now: Any) -> None:
        self.rows = rows
        self.now = now

    @contextmanager
    def transaction(self) -> Iterator[MemoryTx]:
        before = copy.deepcopy(self.rows.__dict__)
        try:
            yield MemoryTx(self.rows, self.now)
        except BaseException:
            self.rows.__dict__.update(before)
            raise

    def open_package(self, profile: ProfileView) -> prepared_package.PreparedPackage:
        return self.rows.packages[profile.iccid]


@pytest.fixture
def core(smdp_credentials, clock, ts48_package, tmp_path):
    rows = Rows()
    order = OrderView(
        id=1, eid=None, matching_id=MATCHING_ID, cc_hash=None, cc_attempts=0, cc_max_attempts=3,
        download_attempts=0, max_download_attempts=3, expires_at=None, release_flag=True,
        smds_address=None, retry_binding=None,
    )  # fmt: skip
    rows.profiles[ICCID] = ProfileView(
        id=1, iccid=ICCID, state=State.RELEASED.value, profile_type="default", operator_name="op",
        callback_url=None, spn="openrsp", profile_name="Core", profile_class="operational",
        icon_type=None, icon=None, extra={}, order=order,
    )  # fmt: skip
    rows.packages[ICCID] = prepared_package.prepare(ts48_package)
    context = SmdpContext(
        config=SmdpConfig(data_dir=tmp_path, db_url="sqlite://", credentials_dir=smdp_credentials.source),
        database=None,  # no database at all
        sealer=Sealer(bytes(range(32))),
        address=smdp_credentials.address,
        credentials=smdp_credentials,
        clock=clock,
        es9_storage=MemoryStorage(rows, clock),
    )
    return context, rows


def test_a_download_is_answers_out_and_effects_stored(core, pki_dir, ts48_package):
    context, rows = core
    call = in_process(lambda: Es9Service(context))
    euicc = SoftEuicc.load(pki_dir, "nist")
    run = download(call, euicc, context.address, MATCHING_ID)
    assert euicc.open_package(run.package).profile == ts48_package
    result = euicc.install_result(ICCID, context.address, context.credentials.oid, seq=7)
    ok(call("handleNotification", {"pendingNotification": b64(result)}))

    assert [(event, before, after) for _, event, before, after in rows.events] == [
        ("eligibilityCheck", "Released", "Released"),
        ("bppDelivered", "Released", "Downloaded"),
        ("installed", "Downloaded", "Installed"),
    ]
    assert rows.reports == [(ICCID, 1, True), (ICCID, 3, True), (ICCID, 4, True)]
    assert rows.notifications == [(euicc.eid, 7, "install")]
    order = rows.profiles[ICCID].order
    assert (order.eid, order.download_attempts, order.retry_binding) == (euicc.eid, 1, None)
    [session] = rows.sessions.values()
    assert session.transaction_id == run.transaction_id and session.eid == euicc.eid


def test_a_refused_matching_id_ends_the_session_and_changes_no_order(core, pki_dir):
    context, rows = core
    call = in_process(lambda: Es9Service(context))
    run = download(call, SoftEuicc.load(pki_dir, "nist"), context.address, "NOT-THIS-ONE")
    assert codes(run.authenticate) == (status.MATCHING_ID_REFUSED.subject, status.MATCHING_ID_REFUSED.reason)
    assert rows.profiles[ICCID].state == "Released" and rows.events == [] and rows.reports == []
    [session] = rows.sessions.values()
    assert session.state == "ended"
