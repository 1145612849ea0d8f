"""ES10b AuthenticateServer, PrepareDownload and CancelSession: the signed answers, and each refusal
with its SGP.22 code, in the order the session allows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rsp_harness import (
    Download,
    HarnessSmdp,
    Rig,
    der,
    final_result,
    hash_cc,
    store_metadata,
    verify_with_certificate,
)

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import encode_tlv, read_tlv
from openrsp.euicc.store import create_euicc
from openrsp.pki.credentials import SmdpCredentials
from openrsp.profile.package import ProfilePackage

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SGP26 = SHARED / "sgp26"
PACKAGE = SHARED / "profiles" / "ts48" / "TS48V2-SAIP2-1-BERTLV-UNIQUE.der"


def _auth_error(rig, download, **options) -> int:
    before = rig.state_bytes
    kind, value = rig.lpa.authenticate(download, **options)
    assert kind == "authenticateResponseError", value
    assert value["transactionId"] == download.transaction_id
    assert rig.state_bytes == before  # a refusal changes nothing stored
    return value["authenticateErrorCode"]


def _download_error(rig, download, **options) -> int:
    before = rig.state_bytes
    kind, value = rig.lpa.prepare(download, **options)
    assert kind == "downloadResponseError", value
    assert rig.state_bytes == before
    return value["downloadErrorCode"]


def _authenticated(rig) -> Download:
    download = Download(rig.lpa.new_transaction_id())
    kind, _ = rig.lpa.authenticate(download)
    assert kind == "authenticateResponseOk"
    return download


# --- AuthenticateServer ------------------------------------------------------------------------------
def test_euicc_signed1_is_signed_and_carries_the_session_and_the_chain(rig):
    download = _authenticated(rig)
    _, ok = download.authenticate_response
    signed = ok["euiccSigned1"]
    assert signed["transactionId"] == download.transaction_id
    assert signed["serverAddress"] == rig.smdp.address
    assert signed["serverChallenge"] == b"\x5c" * 16
    assert signed["ctxParams1"][1]["matchingId"] == "MATCHING-ID"
    assert set(signed["euiccInfo2"]["euiccCiPKIdListForSigning"]) == {s.ci_pkid for s in rig.smdp_sets}
    identity = rig.euicc.state.identities[0]
    assert rsp().encode("Certificate", ok["euiccCertificate"]) == identity.euicc_certificate
    assert rsp().encode("Certificate", ok["eumCertificate"]) == identity.eum_certificate
    assert verify_with_certificate(
        identity.euicc_certificate, download.euicc_signed1, download.euicc_signature1
    )


def test_authenticate_server_without_a_challenge_has_no_session_context(rig):
    request = rig.smdp.authenticate_server_request(b"\x00" * 16, b"\x01" * 16)
    kind, value = rsp().decode("AuthenticateServerResponse", rig.client.call(request))
    assert (kind, value["authenticateErrorCode"]) == ("authenticateResponseError", 4)


def test_wrong_challenge_is_a_challenge_mismatch(rig):
    rig.client.call(bytes.fromhex("BF2E00"))
    request = rig.smdp.authenticate_server_request(b"\x00" * 16, b"\x01" * 16)
    kind, value = rsp().decode("AuthenticateServerResponse", rig.client.call(request))
    assert value["authenticateErrorCode"] == 6


def test_bad_server_signature(rig):
    assert _auth_error(rig, Download(b"\x02" * 16), tamper_signature=True) == 2


def test_dpauth_of_an_unknown_ci_is_refused(rig):
    sgp26 = SmdpCredentials.load(SGP26).sets[0]
    # a genuine SGP.26 DPauth, signed by its own key: but this eUICC trusts only the pki-init CIs
    options = {"certificate": der(sgp26.dpauth_cert), "key": sgp26.dpauth_key}
    assert _auth_error(rig, Download(b"\x03" * 16), **options) == 7  # ciPKUnknown


def test_ci_to_be_used_for_signing_unknown(rig):
    assert _auth_error(rig, Download(b"\x04" * 16), ci_pkid=b"\x42" * 20) == 7


def test_a_dppb_certificate_is_no_dpauth_certificate(rig):
    options = {"certificate": der(rig.smdp.ci_set.dppb_cert), "key": rig.smdp.ci_set.dppb_key}
    assert _auth_error(rig, Download(b"\x05" * 16), **options) == 1  # invalidCertificate


def test_an_expired_dpauth_certificate_is_refused(rig):
    rig.euicc.clock = lambda: datetime(2200, 1, 1, tzinfo=UTC)
    assert _auth_error(rig, Download(b"\x06" * 16)) == 1


def test_a_failed_authentication_ends_the_session(rig):
    download = Download(b"\x07" * 16)
    _auth_error(rig, download, tamper_signature=True)
    assert _download_error(rig, download) == 4  # noSessionContext


# --- PrepareDownload ----------------------------------------------------------------------------------
def test_prepare_download_answers_a_one_time_key_for_the_transaction(rig):
    download = _authenticated(rig)
    kind, ok = rig.lpa.prepare(download)
    assert kind == "downloadResponseOk"
    assert ok["euiccSigned2"]["transactionId"] == download.transaction_id
    assert len(ok["euiccSigned2"]["euiccOtpk"]) == 65 and "hashCc" not in ok["euiccSigned2"]


def test_euicc_signature2_covers_euicc_signed2_and_the_smdp_signature(rig):
    download = _authenticated(rig)
    request = rig.smdp.prepare_download_request(download.transaction_id, download.euicc_signature1)
    answer = rig.client.call(request)
    ok = read_tlv(read_tlv(answer).value)
    signed2 = read_tlv(ok.value)
    signature = read_tlv(ok.value, signed2.end).value
    smdp_signature2_tlv = encode_tlv(
        0x5F37, rsp().decode("PrepareDownloadRequest", request)["smdpSignature2"]
    )
    identity = rig.euicc.state.identities[0]
    assert verify_with_certificate(identity.euicc_certificate, signed2.raw + smdp_signature2_tlv, signature)


def test_prepare_download_before_authentication(rig):
    rig.client.call(bytes.fromhex("BF2E00"))
    assert _download_error(rig, Download(b"\x08" * 16)) == 4


def test_prepare_download_bad_signature(rig):
    download = _authenticated(rig)
    assert _download_error(rig, download, key=rig.smdp.ci_set.dpauth_key) == 2


def test_prepare_download_wrong_transaction(rig):
    download = _authenticated(rig)
    download.transaction_id = b"\x66" * 16
    assert _download_error(rig, download) == 5


def test_prepare_download_with_a_dpauth_certificate(rig):
    download = _authenticated(rig)
    options = {"certificate": der(rig.smdp.ci_set.dpauth_cert), "key": rig.smdp.ci_set.dpauth_key}
    assert _download_error(rig, download, **options) == 1


def test_confirmation_code_hash_is_required_and_signed(rig):
    download = _authenticated(rig)
    assert _download_error(rig, download, cc_required=True) == 127  # required but missing
    digest = hash_cc("1234", download.transaction_id)
    kind, ok = rig.lpa.prepare(download, cc_required=True, hash_cc=digest)
    assert kind == "downloadResponseOk" and ok["euiccSigned2"]["hashCc"] == digest


# --- CancelSession -------------------------------------------------------------------------------------
def _cancel(rig, transaction_id: bytes, reason: int = 0):
    request = rsp().encode("CancelSessionRequest", {"transactionId": transaction_id, "reason": reason})
    return rsp().decode("CancelSessionResponse", rig.client.call(request))


def test_cancel_session_answers_signed_and_ends_the_session(rig):
    download = _authenticated(rig)
    kind, ok = _cancel(rig, download.transaction_id, reason=1)
    assert kind == "cancelSessionResponseOk"
    signed = ok["euiccCancelSessionSigned"]
    assert signed == {"transactionId": download.transaction_id, "smdpOid": signed["smdpOid"], "reason": 1}
    assert signed["smdpOid"] == rig.smdp_credentials.oid
    signed_der = rsp().encode("EuiccCancelSessionSigned", signed)
    identity = rig.euicc.state.identities[0]
    assert verify_with_certificate(identity.euicc_certificate, signed_der, ok["euiccCancelSessionSignature"])
    assert _download_error(rig, download) == 4
    assert _cancel(rig, download.transaction_id) == ("cancelSessionResponseError", 5)


def test_cancel_session_for_another_transaction(rig):
    download = _authenticated(rig)
    assert _cancel(rig, b"\x77" * 16) == ("cancelSessionResponseError", 5)
    assert rig.lpa.prepare(download)[0] == "downloadResponseOk"  # the session is still there


def test_cancel_after_a_refused_prepare_download(rig):
    download = _authenticated(rig)
    assert _download_error(rig, download, key=rig.smdp.ci_set.dpauth_key) == 2
    assert _cancel(rig, download.transaction_id)[0] == "cancelSessionResponseOk"


def test_cancel_without_session(rig):
    assert _cancel(rig, b"\x01" * 16) == ("cancelSessionResponseError", 5)


# --- other curves and credentials -----------------------------------------------------------------------
def test_download_with_the_brainpool_ci(rig):
    brp = next(s for s in rig.smdp_sets if s.curve == "brp")
    rig.lpa.smdp = HarnessSmdp(brp)
    package = PACKAGE.read_bytes()
    download = rig.lpa.download(package, store_metadata(ProfilePackage.from_der(package).iccid))
    assert final_result(download.result)[0] == "successResult"
    _, ok = download.authenticate_response
    identity = next(i for i in rig.euicc.state.identities if i.curve == "brp")
    assert rsp().encode("Certificate", ok["euiccCertificate"]) == identity.euicc_certificate


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_sgp26_euicc_with_sgp26_smdp(tmp_path, curve):
    create_euicc(tmp_path / "e", sgp26=SGP26)
    credentials = SmdpCredentials.load(SGP26)
    rig = Rig(
        tmp_path / "e",
        HarnessSmdp(next(s for s in credentials.sets if s.curve == curve), "testsmdpplus1.example.com"),
    )
    package = PACKAGE.read_bytes()
    download = rig.lpa.download(package, store_metadata(ProfilePackage.from_der(package).iccid))
    assert final_result(download.result)[0] == "successResult"
    assert download.result["profileInstallationResultData"]["smdpOid"] == "2.999.10"
