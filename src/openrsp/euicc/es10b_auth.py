"""ES10b functions of common mutual authentication and download preparation (SGP.22 §3.1.2, §5.7).

GetEUICCChallenge, GetEUICCInfo1/2, AuthenticateServer, PrepareDownload and CancelSession: each a
function from the request DER to the response DER, acting on an Euicc. Every refusal is answered
with the result code SGP.22 gives it, never an exception.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import encode_tlv, iter_tlvs, read_tlv
from openrsp.crypto.ecdsa import curve_of, public_key_to_point, verify_plain
from openrsp.euicc.certs import ServerCertificateError, public_key, smdp_oid, verify_server_certificate
from openrsp.euicc.core import Euicc
from openrsp.euicc.info import euicc_info1, euicc_info2
from openrsp.euicc.requests import decode_request
from openrsp.euicc.session import Es10bCall
from openrsp.pki.roles import SERVER_AUTH_ROLES, role_of

TAG_SIGNATURE = 0x5F37

# AuthenticateErrorCode
AUTH_INVALID_CERTIFICATE, AUTH_INVALID_SIGNATURE, AUTH_UNSUPPORTED_CURVE = 1, 2, 3
AUTH_NO_SESSION_CONTEXT, AUTH_INVALID_OID, AUTH_CHALLENGE_MISMATCH, AUTH_CI_PK_UNKNOWN = 4, 5, 6, 7
# DownloadErrorCode
DL_INVALID_CERTIFICATE, DL_INVALID_SIGNATURE, DL_UNSUPPORTED_CURVE = 1, 2, 3
DL_NO_SESSION_CONTEXT, DL_INVALID_TRANSACTION_ID, DL_UNDEFINED = 4, 5, 127
# CancelSessionResponseError
CANCEL_INVALID_TRANSACTION_ID = 5

_AUTH_CODE_OF_CERT_ERROR = {
    "unknown-ci": AUTH_CI_PK_UNKNOWN,
    "curve": AUTH_UNSUPPORTED_CURVE,
    "oid": AUTH_INVALID_OID,
    "invalid": AUTH_INVALID_CERTIFICATE,
}
_DL_CODE_OF_CERT_ERROR = {
    "unknown-ci": DL_INVALID_CERTIFICATE,
    "curve": DL_UNSUPPORTED_CURVE,
    "oid": DL_INVALID_CERTIFICATE,
    "invalid": DL_INVALID_CERTIFICATE,
}


def get_euicc_challenge(euicc: Euicc, request: bytes) -> bytes:
    decode_request("GetEuiccChallengeRequest", request)
    euicc.end_session()  # a new challenge abandons whatever session was open
    challenge = euicc.new_challenge()
    euicc.session.succeed(Es10bCall.GET_CHALLENGE)
    euicc.context.euicc_challenge = challenge
    return rsp().encode("GetEuiccChallengeResponse", {"euiccChallenge": challenge})


def get_euicc_info1(euicc: Euicc, request: bytes) -> bytes:
    decode_request("GetEuiccInfo1Request", request)
    return rsp().encode("EUICCInfo1", euicc_info1(euicc.state))


def get_euicc_info2(euicc: Euicc, request: bytes) -> bytes:
    decode_request("GetEuiccInfo2Request", request)
    return rsp().encode("EUICCInfo2", euicc_info2(euicc.state))


def _signature_tlv(signature: bytes) -> bytes:
    return encode_tlv(TAG_SIGNATURE, signature)


# --- AuthenticateServer ------------------------------------------------------------------------
class _AuthError(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def authenticate_server(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("AuthenticateServerRequest", request)
    signed1 = value["serverSigned1"]
    transaction_id = signed1["transactionId"]
    if not euicc.session.allows(Es10bCall.AUTHENTICATE_SERVER):
        return _auth_error(transaction_id, AUTH_NO_SESSION_CONTEXT)
    try:
        response = _authenticate(euicc, request, value)
    except _AuthError as exc:
        euicc.session.fail(Es10bCall.AUTHENTICATE_SERVER)
        euicc.end_session()
        return _auth_error(transaction_id, exc.code)
    euicc.session.succeed(Es10bCall.AUTHENTICATE_SERVER)
    return response


def _auth_error(transaction_id: bytes, code: int) -> bytes:
    return rsp().encode(
        "AuthenticateServerResponse",
        ("authenticateResponseError", {"transactionId": transaction_id, "authenticateErrorCode": code}),
    )


def _authenticate(euicc: Euicc, request: bytes, value: dict[str, Any]) -> bytes:
    ctx = euicc.context
    signed1 = value["serverSigned1"]
    # Signatures cover what was received: take raw bytes (serverSigned1, certificate), no re-encoding.
    items = list(iter_tlvs(read_tlv(request).value))
    signed1_raw, certificate_raw = items[0].raw, items[3].raw
    try:
        # An SM-DS authenticates exactly like an SM-DP+, with CERT.DSauth (SGP.22 §5.7.13, ES11).
        dpauth, _ci = verify_server_certificate(
            certificate_raw, euicc.state.trusted_cis, SERVER_AUTH_ROLES, euicc.clock()
        )
    except ServerCertificateError as exc:
        raise _AuthError(_AUTH_CODE_OF_CERT_ERROR[exc.kind]) from None
    identity = euicc.identity_for(value["euiccCiPKIdToBeUsed"])
    if identity is None:
        raise _AuthError(AUTH_CI_PK_UNKNOWN)
    if not verify_plain(public_key(dpauth), signed1_raw, value["serverSignature1"]):
        raise _AuthError(AUTH_INVALID_SIGNATURE)
    if signed1["euiccChallenge"] != ctx.euicc_challenge:
        raise _AuthError(AUTH_CHALLENGE_MISMATCH)

    euicc_signed1 = rsp().encode(
        "EuiccSigned1",
        {
            "transactionId": signed1["transactionId"],
            "serverAddress": signed1["serverAddress"],
            "serverChallenge": signed1["serverChallenge"],
            "euiccInfo2": euicc_info2(euicc.state),
            "ctxParams1": value["ctxParams1"],
        },
    )
    signature = euicc.sign(identity, euicc_signed1)
    ctx.transaction_id = signed1["transactionId"]
    ctx.server_address = signed1["serverAddress"]
    ctx.smdp_oid = smdp_oid(dpauth) or ""
    ctx.identity = identity
    ctx.dpauth = dpauth
    ctx.euicc_signature1 = signature
    ctx.matching_id = value["ctxParams1"][1].get("matchingId")
    body = euicc_signed1 + _signature_tlv(signature) + identity.euicc_certificate + identity.eum_certificate
    # AuthenticateServerResponse BF38 { A0 authenticateResponseOk { ... } }
    return encode_tlv(0xBF38, encode_tlv(0xA0, body))


# --- PrepareDownload ---------------------------------------------------------------------------
def prepare_download(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("PrepareDownloadRequest", request)
    smdp_signed2 = value["smdpSigned2"]
    transaction_id = smdp_signed2["transactionId"]
    if not euicc.session.allows(Es10bCall.PREPARE_DOWNLOAD):
        return _download_error(transaction_id, DL_NO_SESSION_CONTEXT)
    try:
        response = _prepare(euicc, request, value)
    except _AuthError as exc:
        euicc.session.fail(Es10bCall.PREPARE_DOWNLOAD)
        return _download_error(transaction_id, exc.code)
    euicc.session.succeed(Es10bCall.PREPARE_DOWNLOAD)
    return response


def _download_error(transaction_id: bytes, code: int) -> bytes:
    return rsp().encode(
        "PrepareDownloadResponse",
        ("downloadResponseError", {"transactionId": transaction_id, "downloadErrorCode": code}),
    )


def _prepare(euicc: Euicc, request: bytes, value: dict[str, Any]) -> bytes:
    ctx = euicc.context
    assert ctx.identity is not None and ctx.dpauth is not None
    items = list(iter_tlvs(read_tlv(request).value))
    smdp_signed2_raw, smdp_signature2_raw = items[0].raw, items[1].raw
    smdp_signed2 = value["smdpSigned2"]
    if role_of(ctx.dpauth) != "dpauth":  # a session with an SM-DS (ES11) downloads nothing
        raise _AuthError(DL_INVALID_CERTIFICATE)
    try:
        dppb, ci = verify_server_certificate(items[-1].raw, euicc.state.trusted_cis, "dppb", euicc.clock())
    except ServerCertificateError as exc:
        raise _AuthError(_DL_CODE_OF_CERT_ERROR[exc.kind]) from None
    # CERT.DPpb must belong to the SM-DP+ that authenticated, under the CI the session signs for.
    if smdp_oid(dppb) != ctx.smdp_oid or ci.pkid != ctx.identity.ci_pkid:
        raise _AuthError(DL_INVALID_CERTIFICATE)
    signed_data = smdp_signed2_raw + _signature_tlv(ctx.euicc_signature1)
    if not verify_plain(public_key(dppb), signed_data, value["smdpSignature2"]):
        raise _AuthError(DL_INVALID_SIGNATURE)
    if smdp_signed2["transactionId"] != ctx.transaction_id:
        raise _AuthError(DL_INVALID_TRANSACTION_ID)
    hash_cc = value.get("hashCc")
    if smdp_signed2["ccRequiredFlag"] and hash_cc is None:
        raise _AuthError(DL_UNDEFINED)

    curve = curve_of(public_key(dppb))
    reuse = smdp_signed2.get("bppEuiccOtpk")
    retry = euicc.retry_key
    if reuse is not None and retry is not None and public_key_to_point(retry) == reuse:
        ot_key = retry  # the SM-DP+ resends a package bound to our earlier otPK
    else:
        ot_key = euicc.make_one_time_key(curve)
    euicc.retry_key = ot_key

    signed2: dict[str, Any] = {"transactionId": ctx.transaction_id, "euiccOtpk": public_key_to_point(ot_key)}
    if hash_cc is not None:
        signed2["hashCc"] = hash_cc
    euicc_signed2 = rsp().encode("EUICCSigned2", signed2)
    signature = euicc.sign(ctx.identity, euicc_signed2 + smdp_signature2_raw)
    ctx.dppb = dppb
    ctx.dppb_oid = smdp_oid(dppb)
    ctx.one_time_key = ot_key
    ctx.hash_cc = hash_cc
    return encode_tlv(0xBF21, encode_tlv(0xA0, euicc_signed2 + _signature_tlv(signature)))


# --- CancelSession -----------------------------------------------------------------------------
def cancel_session(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("CancelSessionRequest", request)
    ctx = euicc.context
    if not euicc.session.allows(Es10bCall.CANCEL_SESSION) or value["transactionId"] != ctx.transaction_id:
        return rsp().encode(
            "CancelSessionResponse", ("cancelSessionResponseError", CANCEL_INVALID_TRANSACTION_ID)
        )
    assert ctx.identity is not None
    signed = rsp().encode(
        "EuiccCancelSessionSigned",
        {"transactionId": ctx.transaction_id, "smdpOid": ctx.smdp_oid, "reason": value["reason"]},
    )
    signature = euicc.sign(ctx.identity, signed)
    euicc.session.succeed(Es10bCall.CANCEL_SESSION)
    euicc.end_session()
    return encode_tlv(0xBF41, encode_tlv(0xA0, signed + _signature_tlv(signature)))
