"""Every ES9+ refusal with its SGP.22 subjectCode/reasonCode, and where the order ends up.

In process on SQLite and PostgreSQL; the software eUICC goes wrong on purpose (bad signatures,
foreign or expired certificates, wrong codes) or the order is not one it may have.
"""

from dataclasses import replace
from datetime import timedelta

import es9_harness
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from es9_harness import (
    SoftEuicc,
    authenticate,
    b64,
    codes,
    download,
    get_bpp,
    initiate,
    ok,
)

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.asn1.tlv import encode_tlv
from openrsp.pki.certio import load_certificate, load_private_key
from openrsp.pki.eid import make_eid
from openrsp.pki.issue import issue_euicc_certificate, issue_eum_certificate

# the ES9+ fixtures live with the harness
clock = es9_harness.clock
rig = es9_harness.rig
smdp_credentials = es9_harness.smdp_credentials
ts48_package = es9_harness.ts48_package


def der(cert) -> bytes:
    return cert.public_bytes(Encoding.DER)


def flip_last_byte(data: bytes) -> bytes:
    """A certificate whose signature no longer verifies (the last byte is in s)."""
    return data[:-1] + bytes([data[-1] ^ 0x01])


def new_card(rig, pki_dir, *, eid=None, eum=None, eum_key=None, **validity) -> SoftEuicc:
    """The test eUICC with a fresh key and certificate (under the given or the test PKI's EUM)."""
    eum = eum or load_certificate(pki_dir / "nist" / "eum.cert.pem")
    eum_key = eum_key or load_private_key(pki_dir / "nist" / "eum.key.pem")
    key = ec.generate_private_key(ec.SECP256R1())
    validity.setdefault("not_before", rig.clock() - timedelta(days=1))  # the rig's clock is pinned
    cert = issue_euicc_certificate(
        eum, eum_key, eid or rig.euicc.eid, key.public_key(), strict=False, **validity
    )
    return replace(rig.euicc.with_certificate(cert, key), eum_certificate=der(eum))


def fails_at_authenticate(rig, card, matching_id) -> tuple[str, str]:
    init = ok(initiate(rig.call, card, rig.address))
    answer = authenticate(rig.call, card, init, matching_id)
    # the failure ended the session: nothing more happens under this transactionId
    assert codes(authenticate(rig.call, card, init, matching_id)) == ("8.10.1", "3.9")
    return codes(answer)


# -- initiateAuthentication -------------------------------------------------------------------------


def test_unknown_smdp_address(rig):
    assert codes(initiate(rig.call, rig.euicc, "smdp.elsewhere.test")) == ("8.8.1", "3.8")


def test_address_is_compared_without_case(rig):
    ok(initiate(rig.call, rig.euicc, rig.address.upper()))


def test_unsupported_ci_pkid(rig):
    assert codes(initiate(rig.call, rig.euicc, rig.address, signing=[b"\x11" * 20])) == ("8.8.2", "3.1")


def test_no_dpauth_the_euicc_can_verify(rig):
    answer = initiate(rig.call, rig.euicc, rig.address, verification=[b"\x22" * 20])
    assert codes(answer) == ("8.8.4", "3.7")


def test_unsupported_specification_version(rig):
    assert codes(initiate(rig.call, rig.euicc, rig.address, svn=b"\x01\x02\x00")) == ("8.8.3", "3.1")


# -- authenticateClient: who is the eUICC ---------------------------------------------------------


def test_invalid_eum_certificate(rig):
    iccid, matching_id = rig.released_profile()
    card = replace(rig.euicc, eum_certificate=flip_last_byte(rig.euicc.eum_certificate))
    assert fails_at_authenticate(rig, card, matching_id) == ("8.1.2", "6.1")
    assert rig.state(iccid) == "Released"


def test_expired_eum_certificate(rig, pki_dir):
    iccid, matching_id = rig.released_profile()
    ci = load_certificate(pki_dir / "nist" / "ci.cert.pem")
    ci_key = load_private_key(pki_dir / "nist" / "ci.key.pem")
    eum_key = ec.generate_private_key(ec.SECP256R1())
    now = rig.clock()
    eum = issue_eum_certificate(
        ci,
        ci_key,
        eum_key.public_key(),
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    card = new_card(rig, pki_dir, eum=eum, eum_key=eum_key, not_before=now - timedelta(days=20))
    assert fails_at_authenticate(rig, card, matching_id) == ("8.1.2", "6.3")
    assert rig.state(iccid) == "Released"


def test_invalid_euicc_certificate(rig):
    iccid, matching_id = rig.released_profile()
    card = replace(rig.euicc, certificate=flip_last_byte(rig.euicc.certificate))
    assert fails_at_authenticate(rig, card, matching_id) == ("8.1.3", "6.1")
    assert rig.state(iccid) == "Released"


def test_expired_euicc_certificate(rig, pki_dir):
    iccid, matching_id = rig.released_profile()
    now = rig.clock()
    card = new_card(rig, pki_dir, not_before=now - timedelta(days=10), not_after=now - timedelta(days=1))
    assert fails_at_authenticate(rig, card, matching_id) == ("8.1.3", "6.3")
    assert rig.state(iccid) == "Released"


def test_eid_outside_the_eums_range(rig, pki_dir):
    iccid, matching_id = rig.released_profile()
    card = new_card(rig, pki_dir, eid=make_eid("89049032", 7))
    assert fails_at_authenticate(rig, card, matching_id) == ("8.1.4", "6.1")
    assert rig.state(iccid) == "Released"


def test_euicc_chain_from_another_ci(rig, sgp26_dir):
    iccid, matching_id = rig.released_profile()
    # an SGP.26 card that claims to trust this SM-DP+'s CI: its chain cannot lead there
    card = replace(SoftEuicc.load(sgp26_dir, "nist"), ci_pkids=rig.euicc.ci_pkids)
    assert fails_at_authenticate(rig, card, matching_id) == ("8.11.1", "3.9")
    assert rig.state(iccid) == "Released"


def test_bad_euicc_signature1(rig):
    iccid, matching_id = rig.released_profile()
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    assert codes(authenticate(rig.call, rig.euicc, init, matching_id, break_signature=True)) == ("8.1", "6.1")
    assert rig.state(iccid) == "Released"


def test_wrong_server_challenge(rig):
    _, matching_id = rig.released_profile()
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    answer = authenticate(rig.call, rig.euicc, init, matching_id, server_challenge=b"\x00" * 16)
    assert codes(answer) == ("8.1", "6.1")


def test_unknown_transaction(rig):
    _, matching_id = rig.released_profile()
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    response = rig.euicc.authenticate_server(init, matching_id)
    body = {"transactionId": "00" * 16, "authenticateServerResponse": b64(response)}
    assert codes(rig.call("authenticateClient", body)) == ("8.10.1", "3.9")
    # euiccSigned1 naming another transaction than the one it is sent under
    answer = authenticate(rig.call, rig.euicc, init, matching_id, transaction_id=b"\x01" * 16)
    assert codes(answer) == ("8.10.1", "3.9")


def test_expired_session(rig):
    _, matching_id = rig.released_profile()
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    rig.clock.advance(seconds=rig.context.config.session_ttl_seconds + 1)
    assert codes(authenticate(rig.call, rig.euicc, init, matching_id)) == ("8.10.1", "3.9")


def test_euicc_reported_an_error(rig):
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    refusal = encode_tlv(
        0xBF38, encode_tlv(0xA1, encode_tlv(0x80, bytes.fromhex(init["transactionId"])) + b"\x02\x01\x02")
    )
    body = {"transactionId": init["transactionId"], "authenticateServerResponse": b64(refusal)}
    answer = rig.call("authenticateClient", body)
    assert (
        codes(answer) == ("8.1", "4.2")
        and "invalidSignature" in answer["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
    )


# -- authenticateClient: which order, and may it have it ------------------------------------------


def test_refused_matching_id(rig):
    iccid, _ = rig.released_profile()
    assert fails_at_authenticate(rig, rig.euicc, "NO-SUCH-ORDER") == ("8.2.6", "3.8")
    assert rig.state(iccid) == "Released"


def test_no_order_for_this_eid_without_matching_id(rig):
    iccid, _ = rig.released_profile()  # an activation-code order, not for this EID
    # default SM-DP+: the EID refusal code (SGP.22 §5.6.3), not the matchingId one
    assert fails_at_authenticate(rig, rig.euicc, "") == ("8.1.1", "3.8")
    assert fails_at_authenticate(rig, rig.euicc, None) == ("8.1.1", "3.8")
    assert rig.state(iccid) == "Released"


def test_installed_profile_is_not_downloaded_again(rig):
    iccid, matching_id = rig.released_profile()
    download(rig.call, rig.euicc, rig.address, matching_id)
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.install_result(iccid, rig.address, rig.oid))},
        )
    )
    assert fails_at_authenticate(rig, rig.euicc, matching_id) == ("8.2.6", "3.8")
    assert rig.state(iccid) == "Installed"


def test_eid_mismatch(rig):
    other_eid = make_eid("89001012", 42)
    iccid, matching_id = rig.released_profile(eid=other_eid)
    assert fails_at_authenticate(rig, rig.euicc, matching_id) == ("8.1.1", "3.8")
    assert rig.state(iccid) == "Released" and rig.order_row(iccid).eid == other_eid


def test_a_downloaded_profile_is_not_handed_to_another_euicc(rig, pki_dir):
    iccid, matching_id = rig.released_profile()
    ok(download(rig.call, rig.euicc, rig.address, matching_id).bpp)
    other = new_card(rig, pki_dir, eid=make_eid("89001012", 43))
    assert fails_at_authenticate(rig, other, matching_id) == ("8.1.1", "3.8")
    assert rig.state(iccid) == "Downloaded" and rig.order_row(iccid).download_attempts == 1


def test_profile_not_released(rig):
    iccid, matching_id = rig.released_profile(release=False)
    assert fails_at_authenticate(rig, rig.euicc, matching_id) == ("8.2", "1.2")
    assert rig.state(iccid) == "Confirmed"


def test_expired_order(rig):
    expiry = (rig.clock() + timedelta(hours=1)).isoformat()
    iccid, matching_id = rig.released_profile(expiresAt=expiry)
    rig.clock.advance(hours=2)
    assert fails_at_authenticate(rig, rig.euicc, matching_id) == ("8.8.5", "4.10")
    assert rig.state(iccid) == "Error"
    assert rig.events(iccid)[-1][3]["subjectCode"] == "8.8.5"


def test_download_attempts_run_out(rig):
    iccid, matching_id = rig.released_profile()
    limit = rig.order_row(iccid).max_download_attempts
    for _ in range(limit):
        ok(download(rig.call, rig.euicc, rig.address, matching_id).bpp)
    assert fails_at_authenticate(rig, rig.euicc, matching_id) == ("8.8.5", "6.4")
    assert rig.state(iccid) == "Error"


# -- getBoundProfilePackage ---------------------------------------------------------------------------


def authenticated(rig, **confirm):
    iccid, matching_id = rig.released_profile(**confirm)
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    return iccid, ok(authenticate(rig.call, rig.euicc, init, matching_id))


def test_missing_confirmation_code(rig):
    iccid, auth = authenticated(rig, confirmationCode="5309")
    assert codes(get_bpp(rig.call, rig.euicc, auth)) == ("8.2.7", "2.2")
    assert rig.state(iccid) == "Released" and rig.order_row(iccid).cc_attempts == 0


def test_refused_confirmation_code(rig):
    iccid, auth = authenticated(rig, confirmationCode="5309")
    assert codes(get_bpp(rig.call, rig.euicc, auth, "5390")) == ("8.2.7", "3.8")
    assert rig.state(iccid) == "Released" and rig.order_row(iccid).cc_attempts == 1


def test_too_many_confirmation_code_attempts_lock_the_order(rig):
    iccid, auth = authenticated(rig, confirmationCode="5309", maxConfirmationCodeAttempts=2)
    matching_id = rig.order_row(iccid).matching_id
    assert codes(get_bpp(rig.call, rig.euicc, auth, "1111")) == ("8.2.7", "3.8")
    assert codes(get_bpp(rig.call, rig.euicc, auth, "2222")) == ("8.2.7", "6.4")
    assert rig.state(iccid) == "Error" and rig.order_row(iccid).cc_attempts == 2
    # even with the right code, the session is over and the order stays locked
    assert codes(get_bpp(rig.call, rig.euicc, auth, "5309")) == ("8.10.1", "3.9")
    assert fails_at_authenticate(rig, rig.euicc, matching_id) == ("8.8.5", "6.4")
    assert rig.state(iccid) == "Error"


def test_bad_euicc_signature2(rig):
    iccid, auth = authenticated(rig)
    assert codes(get_bpp(rig.call, rig.euicc, auth, break_signature=True)) == ("8.1", "6.1")
    assert rig.state(iccid) == "Released"
    assert codes(get_bpp(rig.call, rig.euicc, auth)) == ("8.10.1", "3.9")  # the session ended


def test_prepare_download_for_another_transaction(rig):
    iccid, auth = authenticated(rig)
    assert codes(get_bpp(rig.call, rig.euicc, auth, transaction_id=b"\x05" * 16)) == ("8.10.1", "3.9")
    assert rig.state(iccid) == "Released"


def test_bound_profile_package_before_authentication(rig):
    init = ok(initiate(rig.call, rig.euicc, rig.address))
    body = {"transactionId": init["transactionId"], "prepareDownloadResponse": b64(b"\xbf\x21\x00")}
    assert codes(rig.call("getBoundProfilePackage", body))[0] in ("8.10.1", "1.3.1")
    fake = encode_tlv(0xBF21, encode_tlv(0xA0, b"\x30\x00" + encode_tlv(0x5F37, b"\x00" * 64)))
    body["prepareDownloadResponse"] = b64(fake)
    assert codes(rig.call("getBoundProfilePackage", body)) in (("8.10.1", "3.9"), ("1.3.1", "2.1"))


def test_cancelled_order_has_no_package(rig):
    iccid, auth = authenticated(rig)
    rig.es2.cancel_order({"iccid": iccid, "finalProfileStatusIndicator": "Available"})
    assert codes(get_bpp(rig.call, rig.euicc, auth)) == ("8.2", "3.7")
    assert rig.state(iccid) == "Available"


# -- handleNotification and cancelSession -------------------------------------------------------------


def test_forged_install_result_changes_nothing(rig):
    iccid, matching_id = rig.released_profile()
    download(rig.call, rig.euicc, rig.address, matching_id)
    forged = rig.euicc.install_result(iccid, rig.address, rig.oid, break_signature=True)
    ok(rig.call("handleNotification", {"pendingNotification": b64(forged)}))  # SGP.22: no error here
    assert rig.state(iccid) == "Downloaded" and rig.notifications() == []
    ok(
        rig.call(
            "handleNotification",
            {"pendingNotification": b64(rig.euicc.install_result(iccid, rig.address, rig.oid))},
        )
    )
    assert rig.state(iccid) == "Installed"


def test_notification_from_an_unknown_ci_is_acknowledged_and_not_recorded(rig, sgp26_dir, caplog):
    note = SoftEuicc.load(sgp26_dir, "nist").other_notification(1, "8900012345678900001", rig.address)
    ok(rig.call("handleNotification", {"pendingNotification": b64(note)}))
    assert rig.notifications() == []
    [line] = [r for r in caplog.records if r.name == "openrsp.smdp.es9"]
    assert line.levelname == "WARNING" and "8.11.1/3.9" in line.getMessage()


def test_cancel_with_a_bad_signature_or_oid(rig):
    iccid, matching_id = rig.released_profile()
    run = download(rig.call, rig.euicc, rig.address, matching_id)
    bad = rig.euicc.cancel_session(CancelSessionReason.endUserRejection, rig.oid, break_signature=True)
    body = {"transactionId": run.transaction_id, "cancelSessionResponse": b64(bad)}
    assert codes(rig.call("cancelSession", body)) == ("8.1", "6.1")
    other = rig.euicc.cancel_session(CancelSessionReason.endUserRejection, "2.999.77")
    body["cancelSessionResponse"] = b64(other)
    assert codes(rig.call("cancelSession", body)) == ("8.8", "3.10")
    assert rig.state(iccid) == "Downloaded"


# -- malformed requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "body", "expected"),
    [
        (
            "initiateAuthentication",
            {"euiccChallenge": "not base64!", "euiccInfo1": "AA==", "smdpAddress": "x"},
            ("1.3.1", "2.1"),
        ),
        (
            "initiateAuthentication",
            {"euiccChallenge": "AAAA", "euiccInfo1": "AA==", "smdpAddress": "x"},
            ("1.3.1", "2.1"),
        ),
        ("initiateAuthentication", {"euiccInfo1": "AA==", "smdpAddress": "x"}, ("1.3.1", "2.2")),
        (
            "authenticateClient",
            {"transactionId": "XYZ", "authenticateServerResponse": "AA=="},
            ("1.3.1", "2.1"),
        ),
        (
            "authenticateClient",
            {"transactionId": "00" * 16, "authenticateServerResponse": b64(b"\xbf\x38\x05junk!")},
            ("1.3.1", "2.1"),
        ),
        (
            "getBoundProfilePackage",
            {"transactionId": "00" * 16, "prepareDownloadResponse": b64(b"\x30\x00")},
            ("1.3.1", "2.1"),
        ),
        ("handleNotification", {"pendingNotification": b64(b"\x04\x02\x00\x00")}, ("1.3.1", "2.1")),
        ("cancelSession", {"transactionId": "00" * 16, "cancelSessionResponse": 5}, ("1.3.1", "2.1")),
    ],
)
def test_malformed_requests_get_a_clear_failure(rig, function, body, expected):
    assert codes(rig.call(function, body)) == expected


def test_malformed_info1_and_challenge(rig):
    challenge = b64(rig.euicc.get_challenge())
    body = {
        "euiccChallenge": challenge,
        "euiccInfo1": b64(b"\xbf\x20\x03\x82\x01\x02"),
        "smdpAddress": rig.address,
    }
    assert codes(rig.call("initiateAuthentication", body)) == ("1.3.1", "2.1")
