"""ES9+ downloads that succeed: activation code, default SM-DP+, confirmation code, retries, the
install result and cancelled sessions, each ending with the order where SGP.22 puts it.

In process (Es9Service on the real database, SQLite and PostgreSQL), with a software eUICC that
signs with the test PKI's eUICC key and opens the bound profile package back to the profile.
"""

import base64
from concurrent.futures import ThreadPoolExecutor

import es9_harness
from es9_harness import (
    SoftEuicc,
    authenticate,
    b64,
    codes,
    download,
    get_bpp,
    initiate,
    ok,
    unb64,
)

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import CancelSessionReason, ErrorReason, NotificationEvent, iccid_from_bytes
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.outbox import Outbox
from openrsp.smdp.smds_events import SmdsRegistrar

# the ES9+ fixtures live with the harness
clock = es9_harness.clock
rig = es9_harness.rig
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package


def test_activation_code_download_opens_to_the_exact_profile(rig):
    iccid, matching_id = rig.released_profile()
    run = download(rig.call, rig.euicc, rig.address, matching_id)
    auth = ok(run.authenticate)
    metadata = rsp().decode("StoreMetadataRequest", unb64(auth["profileMetadata"]))
    assert iccid_from_bytes(metadata["iccid"]) == iccid
    assert metadata["serviceProviderName"] == "openrsp"
    assert metadata["notificationConfigurationInfo"][0]["notificationAddress"] == rig.address
    assert rig.euicc.kept["ccRequiredFlag"] is False

    opened = rig.euicc.open_package(run.package)
    assert opened.profile == rig.package
    assert opened.store_metadata == unb64(auth["profileMetadata"])
    assert opened.transaction_id.hex().upper() == run.transaction_id
    assert opened.ppk is not None
    # the keys that would let the package be replayed are kept sealed, never in clear
    stored = rig.stored_sessions()
    for secret in (opened.ppk.s_enc, opened.ppk.s_mac):
        assert secret.hex() not in stored.lower()
    assert rig.state(iccid) == "Downloaded"
    assert rig.order_row(iccid).eid == rig.euicc.eid  # the download bound the order to this eUICC

    result = rig.euicc.install_result(iccid, rig.address, rig.oid)
    ok(rig.call("handleNotification", {"pendingNotification": b64(result)}))
    assert rig.state(iccid) == "Installed"
    [note] = rig.notifications()
    assert (note.event, note.iccid, note.eid, note.result) == ("install", iccid, rig.euicc.eid, "installed")
    # the session is over: the same result again is acknowledged (the LPA may drop it) and ignored
    ok(rig.call("handleNotification", {"pendingNotification": b64(result)}))
    assert [n.id for n in rig.notifications()] == [note.id] and rig.state(iccid) == "Installed"


def test_transaction_ids_and_challenges_are_fresh_and_hex(rig):
    first = ok(initiate(rig.call, rig.euicc, rig.address))
    second = ok(initiate(rig.call, rig.euicc, rig.address))
    assert first["transactionId"] != second["transactionId"]
    assert first["transactionId"] == first["transactionId"].upper() and len(first["transactionId"]) == 32
    challenges = {
        rsp().decode("ServerSigned1", unb64(a["serverSigned1"]))["serverChallenge"] for a in (first, second)
    }
    assert len(challenges) == 2


def test_default_smdp_with_empty_or_omitted_matching_id(rig):
    empty, _ = rig.released_profile(eid=rig.euicc.eid, matchingId="")
    run = download(rig.call, rig.euicc, rig.address, "")
    assert rig.euicc.open_package(run.package).profile == rig.package
    assert rig.state(empty) == "Downloaded"

    omitted, _ = rig.released_profile(eid=rig.euicc.eid, matchingId="")
    run = download(rig.call, rig.euicc, rig.address, None)
    ok(run.bpp)
    assert rig.state(omitted) == "Downloaded"


def test_sm_ds_event_id_names_the_order(rig):
    registered = []  # what the SM-DS was told (ES12 over HTTPS: tests/smds)
    es2 = Es2Service(
        rig.context.database, operator=rig.operator, address=rig.address, clock=rig.clock,
        smds=SmdsRegistrar(lambda kind, target, payload: registered.append((kind, target, payload))),
    )  # fmt: skip
    iccid = rig.add_profile()
    es2.download_order({"iccid": iccid, "eid": rig.euicc.eid})
    answer = es2.confirm_order(
        {"iccid": iccid, "matchingId": "EVENT-1", "smdsAddress": "smds.openrsp.test", "releaseFlag": True}
    )
    event_id = answer["matchingId"]
    assert [(kind, target, payload["eventId"]) for kind, target, payload in registered] == [
        ("smds.registerEvent", "smds.openrsp.test", event_id)
    ]
    run = download(rig.call, rig.euicc, rig.address, event_id)
    ok(run.bpp)
    assert rig.state(iccid) == "Downloaded"
    # The install result ends the order: the deletion of its event is queued in the same transaction.
    result = rig.euicc.install_result(iccid, rig.address, rig.oid)
    ok(rig.call("handleNotification", {"pendingNotification": b64(result)}))
    assert rig.state(iccid) == "Installed"
    rows = Outbox(rig.context.database.engine, lambda *_: None, rig.clock).items("smds.deleteEvent")
    assert [(r["target"], r["payload"], r["state"]) for r in rows] == [
        ("smds.openrsp.test", {"eid": rig.euicc.eid, "eventId": event_id}, "pending")
    ]


def test_confirmation_code_is_asked_for_and_checked(rig):
    iccid, matching_id = rig.released_profile(confirmationCode="7391")
    run = download(rig.call, rig.euicc, rig.address, matching_id, code="7391")
    assert rig.euicc.kept["ccRequiredFlag"] is True
    assert rig.euicc.open_package(run.package).profile == rig.package
    assert rig.state(iccid) == "Downloaded"
    assert rig.order_row(iccid).cc_attempts == 0


def test_a_wrong_code_can_be_corrected_in_the_same_session(rig):
    iccid, matching_id = rig.released_profile(confirmationCode="7391")
    auth = ok(authenticate(rig.call, rig.euicc, ok(initiate(rig.call, rig.euicc, rig.address)), matching_id))
    assert codes(get_bpp(rig.call, rig.euicc, auth, "0000")) == ("8.2.7", "3.8")
    assert rig.state(iccid) == "Released" and rig.order_row(iccid).cc_attempts == 1
    ok(get_bpp(rig.call, rig.euicc, auth, "7391"))
    assert rig.state(iccid) == "Downloaded"


def test_asking_again_with_the_same_otpk_gives_an_equivalent_package(rig):
    iccid, matching_id = rig.released_profile()
    run = download(rig.call, rig.euicc, rig.address, matching_id)
    # the answer got lost; the LPA sends the same PrepareDownload response again
    body = {
        "transactionId": run.transaction_id,
        "prepareDownloadResponse": b64(rig.euicc.kept["prepareDownloadResponse"]),
    }
    again = rig.call("getBoundProfilePackage", body)
    assert rig.euicc.open_package(unb64(ok(again)["boundProfilePackage"])).profile == rig.package
    assert rig.order_row(iccid).download_attempts == 1  # a repeated answer, not a second download


def test_a_retry_session_offers_the_previous_otpk_and_rebinds_to_it(rig):
    iccid, matching_id = rig.released_profile()
    first = download(rig.call, rig.euicc, rig.address, matching_id)
    first_otpk = rig.euicc.otpk
    # the load was interrupted; the LPA starts over with the same activation code
    second = download(rig.call, rig.euicc, rig.address, matching_id)
    assert rig.euicc.kept["bppEuiccOtpk"] == first_otpk and rig.euicc.otpk == first_otpk
    opened = rig.euicc.open_package(second.package)
    assert opened.profile == rig.package and opened.transaction_id.hex().upper() == second.transaction_id
    assert rig.order_row(iccid).download_attempts == 2
    # the first session was superseded: its install result is acknowledged but no longer counts
    stale = rig.euicc.install_result(
        iccid, rig.address, rig.oid, transaction_id=bytes.fromhex(first.transaction_id)
    )
    ok(rig.call("handleNotification", {"pendingNotification": b64(stale)}))
    assert rig.state(iccid) == "Downloaded" and rig.notifications() == []
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.install_result(iccid, rig.address, rig.oid))},
        )
    )
    assert rig.state(iccid) == "Installed"


def test_a_retry_with_a_new_otpk_is_bound_anew(rig):
    iccid, matching_id = rig.released_profile()
    download(rig.call, rig.euicc, rig.address, matching_id)
    old_otpk = rig.euicc.otpk
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    auth = ok(authenticate(rig.call, rig.euicc, init, matching_id))
    bpp = ok(get_bpp(rig.call, rig.euicc, auth, new_otpk=True))
    assert rig.euicc.otpk != old_otpk
    assert rig.euicc.open_package(unb64(bpp["boundProfilePackage"])).profile == rig.package
    assert rig.state(iccid) == "Downloaded"


def test_failed_installation_puts_the_order_in_error_with_the_reason(rig):
    iccid, matching_id = rig.released_profile()
    download(rig.call, rig.euicc, rig.address, matching_id)
    result = rig.euicc.install_result(
        iccid, rig.address, rig.oid, error_reason=ErrorReason.installFailedDueToPEProcessingError
    )
    ok(rig.call("handleNotification", {"pendingNotification": b64(result)}))
    assert rig.state(iccid) == "Error"
    event, before, after, detail = rig.events(iccid)[-1]
    assert (event, before, after) == ("installFailed", "Downloaded", "Error")
    assert "installFailedDueToPEProcessingError" in detail["result"]


def test_other_notifications_are_verified_and_recorded(rig):
    note = rig.euicc.other_notification(NotificationEvent.ENABLE, "8900012345678900001", rig.address)
    ok(rig.call("handleNotification", {"pendingNotification": b64(note)}))
    [row] = rig.notifications()
    assert (row.event, row.iccid, row.eid, row.raw) == ("enable", "8900012345678900001", rig.euicc.eid, note)


def test_cancel_postponed_keeps_the_order_for_later(rig):
    iccid, matching_id = rig.released_profile()
    run = download(rig.call, rig.euicc, rig.address, matching_id)
    cancel = rig.euicc.cancel_session(CancelSessionReason.postponed, rig.oid)
    body = {"transactionId": run.transaction_id, "cancelSessionResponse": b64(cancel)}
    assert ok(rig.call("cancelSession", body)) == {
        "header": {"functionExecutionStatus": {"status": "Executed-Success"}}
    }
    assert rig.state(iccid) == "Released"
    assert codes(rig.call("cancelSession", body)) == ("8.10.1", "3.9")  # that session is over
    ok(download(rig.call, rig.euicc, rig.address, matching_id).bpp)  # and the user can try again


def test_cancel_by_end_user_ends_the_order(rig):
    iccid, matching_id = rig.released_profile()
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    ok(authenticate(rig.call, rig.euicc, init, matching_id))
    cancel = rig.euicc.cancel_session(CancelSessionReason.endUserRejection, rig.oid)
    ok(
        rig.call(
            "cancelSession", {"transactionId": init["transactionId"], "cancelSessionResponse": b64(cancel)}
        )
    )
    assert rig.state(iccid) == "Error"
    assert rig.events(iccid)[-1][3] == {"cancelSessionReason": "endUserRejection"}


def test_cancel_before_authentication_ends_only_the_session(rig):
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    rig.euicc.transaction_id = bytes.fromhex(init["transactionId"])
    cancel = rig.euicc.cancel_session(CancelSessionReason.timeout, rig.oid)
    ok(
        rig.call(
            "cancelSession", {"transactionId": init["transactionId"], "cancelSessionResponse": b64(cancel)}
        )
    )
    later = authenticate(rig.call, rig.euicc, init, "ANY")
    assert codes(later) == ("8.10.1", "3.9")


def test_two_interleaved_sessions_for_one_order_only_one_gets_it(rig, pki_dir):
    iccid, matching_id = rig.released_profile()
    first, second = rig.euicc, SoftEuicc.load(pki_dir, "nist")  # same card model, two LPAs
    init1 = ok(initiate(rig.call, first, rig.address))
    init2 = ok(initiate(rig.call, second, rig.address))
    auth1 = ok(authenticate(rig.call, first, init1, matching_id))
    auth2 = ok(authenticate(rig.call, second, init2, matching_id))
    ok(get_bpp(rig.call, first, auth1))
    assert codes(get_bpp(rig.call, second, auth2)) == ("8.2", "3.7")
    assert rig.state(iccid) == "Downloaded" and rig.order_row(iccid).download_attempts == 1


def test_binary_fields_are_plain_base64_of_der(rig):
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    for name in ("serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed", "serverCertificate"):
        assert base64.b64encode(base64.b64decode(init[name])).decode() == init[name]
    assert unb64(init["serverSignature1"])[:3] == bytes.fromhex("5F3740")


def test_concurrent_requests_for_one_order_deliver_it_once(rig, pki_dir):
    iccid, matching_id = rig.released_profile()
    cards = [rig.euicc] + [SoftEuicc.load(pki_dir, "nist") for _ in range(3)]
    requests = []
    for card in cards:
        auth = ok(authenticate(rig.call, card, ok(initiate(rig.call, card, rig.address)), matching_id))
        response = card.prepare_download(auth)
        requests.append({"transactionId": auth["transactionId"], "prepareDownloadResponse": b64(response)})
    with ThreadPoolExecutor(len(requests)) as pool:
        answers = list(pool.map(lambda body: rig.call("getBoundProfilePackage", body), requests))
    delivered = [a for a in answers if a["header"]["functionExecutionStatus"]["status"] == "Executed-Success"]
    assert len(delivered) == 1
    assert all(codes(a) == ("8.2", "3.7") for a in answers if a not in delivered)
    assert rig.state(iccid) == "Downloaded" and rig.order_row(iccid).download_attempts == 1
