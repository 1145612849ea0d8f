"""The ES9+ decisions with values alone: request bytes (from the test eUICC, real crypto), snapshot
dataclasses, `now` and the keys in; the answer or the SGP.22 error and the effect dataclasses out.
No storage object at all: the effects are what a store would apply."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta

import es9_harness
import pytest
from es9_harness import SoftEuicc, unb64

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import CancelSessionReason, NotificationEvent
from openrsp.rspserver import status
from openrsp.rspserver.messages import (
    parse_authenticate_server_response,
    parse_cancel_session_response,
    parse_pending_notification,
    parse_prepare_download_response,
)
from openrsp.rspserver.sealing import Sealer
from openrsp.rspserver.status import StatusCode
from openrsp.smdp import prepared_package
from openrsp.smdp.es9 import decisions
from openrsp.smdp.es9.credentials import signing_sets
from openrsp.smdp.es9.effects import MoveOrder, RecordNotification, ReportProgress, SaveOrder, SaveSession
from openrsp.smdp.es9.views import OrderSnapshot, OrderView, ProfileView, SessionRow, SessionSnapshot
from openrsp.smdp.states import Event

clock = es9_harness.clock
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package

ICCID = "8900012345678900001"
MATCHING_ID = "CORE-ONE"


@pytest.fixture
def setup(smdp_credentials) -> decisions.Es9Setup:
    return decisions.Es9Setup(
        address=smdp_credentials.address,
        credentials=smdp_credentials,
        sealer=Sealer(bytes(range(32))),
        session_ttl=timedelta(minutes=5),
        rng=os.urandom,
    )


@pytest.fixture
def euicc(pki_dir) -> SoftEuicc:
    return SoftEuicc.load(pki_dir, "nist")


@pytest.fixture
def profile(setup, ts48_package) -> ProfileView:
    """A released profile with its order, as the storage reads it (sealed package included)."""
    order = OrderView(
        id=1, eid=None, matching_id=MATCHING_ID, cc_hash=None, cc_attempts=0, cc_max_attempts=3,
        download_attempts=0, max_download_attempts=3, expires_at=None, release_flag=True,
        smds_address=None, retry_binding=None,
    )  # fmt: skip
    record = prepared_package.to_bytes(prepared_package.prepare(ts48_package))
    return ProfileView(
        id=1, iccid=ICCID, state="Released", profile_type="default", operator_name="op",
        callback_url=None, spn="openrsp", profile_name="Core", profile_class="operational",
        icon_type=None, icon=None, extra={}, order=order,
        package=setup.sealer.seal(record, f"package/{ICCID}"),
    )  # fmt: skip


def authenticate(setup, euicc, now, snapshot, matching_id=MATCHING_ID):
    """initiateAuthentication's answer, then authenticateClient's decision on this snapshot."""
    info1 = rsp().decode("EUICCInfo1", euicc.info1())
    init = decisions.initiate(setup, now, euicc.get_challenge(), info1, setup.address)
    transaction_id = bytes.fromhex(init["transactionId"])
    response = parse_authenticate_server_response(euicc.authenticate_server(init, matching_id))
    issued = decisions.issued_session(setup, transaction_id, now)
    ci_set = signing_sets(setup.credentials)[issued.set_index]
    verified = decisions.authenticated_euicc(setup, transaction_id, response, ci_set, now)
    decision = decisions.decide_authenticate(setup, now, transaction_id, issued, verified, snapshot)
    return transaction_id, decision


def stored(decision: decisions.Decision) -> SessionRow:
    """The session row the decision saves last, as the storage would read it back."""
    [row] = [e.row for e in decision.effects if isinstance(e, SaveSession)][-1:]
    return replace(row, stored=True)


def bind(setup, euicc, now, transaction_id, answer, session, profile, previous=None, **knobs):
    response = parse_prepare_download_response(euicc.prepare_download(answer, **knobs))
    snapshot = SessionSnapshot(session, profile, previous)
    return decisions.decide_bind(setup, now, transaction_id, response, snapshot)


def read_back(profile: ProfileView, state: str, order_fields: dict) -> ProfileView:
    """The profile as the storage reads it once a decision's effects are applied."""
    columns = {name: value for name, value in order_fields.items() if name != "updated_at"}
    return replace(profile, state=state, order=replace(profile.order, **columns))


def refused_with(decision: decisions.Decision, code: StatusCode) -> bool:
    error = decision.error
    return error is not None and (error.subject_code, error.reason_code) == (code.subject, code.reason)


def kinds(decision: decisions.Decision) -> list[tuple[str, str]]:
    """Each effect as (kind, what it says): the session's new and expected state, the order's event."""
    described = []
    for effect in decision.effects:
        if isinstance(effect, SaveSession):
            described.append(("session", f"{effect.expected_state}->{effect.row.state}"))
        elif isinstance(effect, MoveOrder):
            described.append(("order", f"{effect.profile.state}:{effect.event.value}"))
        elif isinstance(effect, SaveOrder):
            described.append(("order fields", ",".join(sorted(effect.values))))
        elif isinstance(effect, ReportProgress):
            described.append(("progress", f"{effect.event}:{effect.point.point_id}:{effect.point.success}"))
        elif isinstance(effect, RecordNotification):
            described.append(("notification", f"{effect.event}:{effect.seq}"))
        else:
            described.append((type(effect).__name__, ""))
    return described


def test_a_download_is_answers_out_and_effects_to_store(setup, euicc, profile, clock, ts48_package):
    now = clock()
    transaction_id, auth = authenticate(setup, euicc, now, OrderSnapshot([profile]))
    assert auth.error is None and set(auth.answer) >= {"profileMetadata", "smdpSigned2", "smdpSignature2"}
    assert kinds(auth) == [("session", "None->authenticated"), ("progress", "eligibilityCheck:1:True")]
    session = stored(auth)
    assert (session.eid, session.iccid, session.data["order_version"]) == (euicc.eid, ICCID, ["Released", 0])

    bound = bind(setup, euicc, now, transaction_id, auth.answer, session, profile)
    assert bound.error is None
    assert kinds(bound) == [
        ("order", "Released:bppDelivered"),
        ("order fields", "download_attempts,eid,retry_binding,updated_at"),
        ("session", "authenticated->bound"),
    ]
    [order_fields] = [e.values for e in bound.effects if isinstance(e, SaveOrder)]
    assert (order_fields["eid"], order_fields["download_attempts"]) == (euicc.eid, 1)
    assert order_fields["retry_binding"]["eid"] == euicc.eid  # sealed: no key in clear
    assert euicc.open_package(unb64(bound.answer.build()["boundProfilePackage"])).profile == ts48_package

    downloaded = read_back(profile, "Downloaded", order_fields)
    der = euicc.install_result(ICCID, setup.address, setup.oid, seq=7)
    result = parse_pending_notification(der)
    installed = decisions.decide_install_result(
        setup, now, result, der, SessionSnapshot(stored(bound), downloaded)
    )
    assert installed.error is None and installed.answer == {}
    assert kinds(installed) == [
        ("notification", "install:7"),
        ("order", "Downloaded:installed"),
        ("order fields", "retry_binding"),  # the binding must not serve again
        ("session", "bound->ended"),
    ]


def test_a_call_the_session_state_does_not_expect_changes_nothing(setup, euicc, profile, clock):
    now = clock()
    transaction_id, auth = authenticate(setup, euicc, now, OrderSnapshot([profile]))
    ended = replace(stored(auth), state="ended")
    decision = bind(setup, euicc, now, transaction_id, auth.answer, ended, profile)
    assert refused_with(decision, status.UNKNOWN_TRANSACTION)
    assert decision.effects == []
    # an install result for a session that bound nothing yet is refused the same way
    der = euicc.install_result(ICCID, setup.address, setup.oid, seq=1)
    snapshot = SessionSnapshot(stored(auth), profile)
    refused = decisions.decide_install_result(setup, now, parse_pending_notification(der), der, snapshot)
    assert refused_with(refused, status.UNKNOWN_TRANSACTION) and refused.effects == []


def test_an_expired_session_changes_nothing(setup, euicc, profile, clock):
    now = clock()
    transaction_id, auth = authenticate(setup, euicc, now, OrderSnapshot([profile]))
    later = now + setup.session_ttl + timedelta(seconds=1)
    decision = bind(setup, euicc, later, transaction_id, auth.answer, stored(auth), profile)
    assert refused_with(decision, status.UNKNOWN_TRANSACTION) and "expired" in str(decision.error)
    assert decision.effects == []


def test_an_unknown_matching_id_ends_the_session_and_touches_no_order(setup, euicc, clock):
    _, auth = authenticate(setup, euicc, clock(), OrderSnapshot([]), matching_id="NOT-THIS-ONE")
    assert refused_with(auth, status.MATCHING_ID_REFUSED)
    assert kinds(auth) == [("session", "None->ended")]


def test_the_session_that_lost_its_order_to_another_gets_no_package(setup, euicc, profile, clock):
    now = clock()
    transaction_id, auth = authenticate(setup, euicc, now, OrderSnapshot([profile]))
    taken = replace(profile, state="Downloaded", order=replace(profile.order, download_attempts=1))
    decision = bind(setup, euicc, now, transaction_id, auth.answer, stored(auth), taken)
    assert refused_with(decision, status.BPP_NOT_AVAILABLE) and decision.answer is None
    assert kinds(decision) == [("session", "authenticated->ended")]


def test_a_retry_offers_the_same_one_time_key_and_ends_the_session_it_supersedes(
    setup, euicc, profile, clock
):
    now = clock()
    first_tid, first = authenticate(setup, euicc, now, OrderSnapshot([profile]))
    first_bind = bind(setup, euicc, now, first_tid, first.answer, stored(first), profile)
    first_package = euicc.open_package(unb64(first_bind.answer.build()["boundProfilePackage"]))
    [order_fields] = [e.values for e in first_bind.effects if isinstance(e, SaveOrder)]
    downloaded = read_back(profile, "Downloaded", order_fields)
    previous = stored(first_bind)

    retry_tid, retry = authenticate(setup, euicc, now, OrderSnapshot([downloaded], [previous]))
    smdp_signed2 = rsp().decode("SmdpSigned2", unb64(retry.answer["smdpSigned2"]))
    assert smdp_signed2["bppEuiccOtpk"] == euicc.otpk  # the eUICC's earlier one-time key, offered back
    assert stored(retry).data["retry_of"] == previous.transaction_id

    decision = bind(setup, euicc, now, retry_tid, retry.answer, stored(retry), downloaded, previous)
    assert kinds(decision) == [
        ("session", "bound->ended"),  # the superseded session
        ("order", "Downloaded:bppDelivered"),
        ("order fields", "download_attempts,eid,retry_binding,updated_at"),
        ("session", "authenticated->bound"),
    ]
    again = euicc.open_package(unb64(decision.answer.build()["boundProfilePackage"]))
    assert again.ppk == first_package.ppk  # the same binding: the same profile protection keys


def test_other_notifications_are_recorded_with_their_sequence_number(setup, euicc, clock):
    der = euicc.other_notification(NotificationEvent.ENABLE, ICCID, setup.address, seq=9)
    decision = decisions.decide_other_notification(setup, clock(), parse_pending_notification(der), der)
    assert decision.effects == [RecordNotification("enable", der, 9, euicc.eid, ICCID)]
    # a notification the storage already holds is its replay: skipped by the same (eid, seq) key


def test_cancel_session_reasons_decide_the_order(setup, euicc, profile, clock):
    now = clock()
    for reason, event, forgets in (
        (CancelSessionReason.postponed, Event.SESSION_RETRYABLE, False),
        (CancelSessionReason.timeout, Event.SESSION_RETRYABLE, False),
        (CancelSessionReason.endUserRejection, Event.SESSION_FAILED, True),
    ):
        transaction_id, auth = authenticate(setup, euicc, now, OrderSnapshot([profile]))
        kept = replace(profile, order=replace(profile.order, retry_binding={"eid": euicc.eid}))
        response = parse_cancel_session_response(euicc.cancel_session(reason, setup.oid))
        snapshot = SessionSnapshot(stored(auth), kept)
        decision = decisions.decide_cancel(setup, now, transaction_id, response, snapshot)
        expected = [("order", f"Released:{event.value}")]
        expected += [("order fields", "retry_binding")] if forgets else []
        assert kinds(decision) == [*expected, ("session", "authenticated->ended")], reason


def test_a_cancel_before_authentication_stores_the_ended_session_only(setup, euicc, clock):
    now = clock()
    info1 = rsp().decode("EUICCInfo1", euicc.info1())
    init = decisions.initiate(setup, now, euicc.get_challenge(), info1, setup.address)
    euicc.authenticate_server(init, MATCHING_ID)  # the eUICC learns the transactionId
    transaction_id = bytes.fromhex(init["transactionId"])
    response = parse_cancel_session_response(euicc.cancel_session(CancelSessionReason.postponed, setup.oid))
    decision = decisions.decide_cancel(setup, now, transaction_id, response, SessionSnapshot(None, None))
    assert kinds(decision) == [("session", "None->ended")]
    wrong_oid = parse_cancel_session_response(euicc.cancel_session(CancelSessionReason.postponed, "2.999.1"))
    refused = decisions.decide_cancel(setup, now, transaction_id, wrong_oid, SessionSnapshot(None, None))
    assert refused_with(refused, status.INVALID_SMDP_OID) and refused.effects == []
