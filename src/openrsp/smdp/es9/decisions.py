"""The ES9+ decisions (SGP.22 §5.6), pure: a request, the snapshot the storage read for it, `now`,
randomness and the SM-DP+'s keys in; the answer (or the SGP.22 error) and the effects to store out.

No I/O here: es9/service.py reads the snapshot, calls a decision and has the storage apply its
effects in the same transaction, which it commits before answering. A failure is itself a change
of state (the RSP session ends, a confirmation-code attempt is counted, an order goes to Error):
its effects are applied and committed like a success's, then the error goes back to the LPA. What
may follow what within one RSP session is rsp_session.py's table; what may happen to the order is
states.py's. Each session remembers which version of its order it authenticated against, and
every order move expects the state the snapshot read, so of two sessions racing for one order only
one ever receives a bound profile package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import (
    AuthenticateErrorCode,
    BppCommandId,
    CancelSessionReason,
    DownloadErrorCode,
    ErrorReason,
    NotificationEvent,
    bits_set,
    code_name,
    iccid_from_bytes,
)
from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.keys import public_key_from_point
from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.pki.verify import aki_of
from openrsp.rspserver import status
from openrsp.rspserver import tokens as es9_tokens
from openrsp.rspserver.messages import (
    AuthenticateServerOk,
    EuiccRefusal,
    OtherSignedNotification,
    SignedPart,
)
from openrsp.rspserver.sealing import Sealer
from openrsp.rspserver.status import StatusCode
from openrsp.rspserver.verify import (
    AuthenticatedEuicc,
    load_certificate,
    public_key_for,
    verify_euicc_chain,
    verify_signature,
)
from openrsp.smdp import prepared_package
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9 import binding as es9_binding
from openrsp.smdp.es9 import orders as es9_orders
from openrsp.smdp.es9.binding import Binding
from openrsp.smdp.es9.credentials import SigningSet, choose_set, set_for_pkid, signing_sets
from openrsp.smdp.es9.effects import (
    Effect,
    MoveOrder,
    PurgeExpiredSessions,
    RecordNotification,
    ReportProgress,
    SaveOrder,
    SaveSession,
)
from openrsp.smdp.es9.metadata import store_metadata
from openrsp.smdp.es9.views import OrderSnapshot, OrderView, ProfileView, SessionRow, SessionSnapshot, tid
from openrsp.smdp.profile_policy import forbidden_pprs, profile_pprs
from openrsp.smdp.rsp_session import SessionEvent, SessionState, allows, next_state
from openrsp.smdp.states import Event, State
from openrsp.smdp.states import next_state as next_order_state

TAG_SIGNATURE = 0x5F37
SUPPORTED_SVN_MAJOR = (2, 3)  # v2.x eUICCs, and v3 eUICCs, which speak v2 to a v2 SM-DP+
# cancelSession reasons after which the user may simply try again; any other ends the order.
RETRYABLE_CANCEL = (CancelSessionReason.postponed, CancelSessionReason.timeout)


@dataclass(frozen=True)
class Es9Setup:
    """What every decision may use besides the request and the snapshot: the SM-DP+'s address,
    credentials and KEK, the transactionId key, the session lifetime, randomness."""

    address: str
    credentials: Any  # openrsp.pki.credentials.SmdpCredentials (None: no ES9+ at all)
    sealer: Sealer
    session_ttl: timedelta
    rng: Callable[[int], bytes]

    @property
    def token_key(self) -> bytes:
        return self.sealer.subkey("es9-transaction")

    @property
    def oid(self) -> str:
        return str(getattr(self.credentials, "oid", ""))


@dataclass(frozen=True)
class PackageToBuild:
    """getBoundProfilePackage's answer, built once the transaction is over: it needs no database,
    and the binding it is built from is stored, so a retry rebuilds an equivalent package."""

    binding: Binding
    transaction_id: bytes
    eid: str
    signing: SigningSet
    package: prepared_package.PreparedPackage
    metadata: bytes

    def build(self) -> dict[str, Any]:
        bpp = es9_binding.bound_package(
            self.binding,
            transaction_id=self.transaction_id,
            eid=self.eid,
            signing=self.signing,
            profile_package=self.package,
            store_metadata=self.metadata,
        )
        return {"transactionId": to_hex(self.transaction_id), "boundProfilePackage": b64(bpp)}


@dataclass
class Decision:
    """The answer (or the error for the LPA) and the effects to store first, in order."""

    effects: list[Effect] = field(default_factory=list)
    answer: dict[str, Any] | PackageToBuild | None = None
    error: Es9Error | None = None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signature_tlv(signature: bytes) -> bytes:
    return encode_tlv(TAG_SIGNATURE, signature)


# -- the checks before any storage ----------------------------------------------------------------


def issued_session(setup: Es9Setup, transaction_id: bytes, now: datetime) -> es9_tokens.IssuedSession:
    """What initiateAuthentication issued under this transactionId, if it did and it is still valid."""
    issued = es9_tokens.open_transaction_id(setup.token_key, transaction_id)
    if issued is None:
        raise status.UNKNOWN_TRANSACTION.error()
    if issued.set_index >= len(signing_sets(setup.credentials)):
        # The credentials changed under a live session (restart with other keys): it cannot go on.
        raise status.UNKNOWN_TRANSACTION.error("the session's CI is no longer configured")
    if now.timestamp() >= issued.issued_at + setup.session_ttl.total_seconds():
        raise status.UNKNOWN_TRANSACTION.error("the RSP session has expired")
    return issued


def authenticated_euicc(
    setup: Es9Setup,
    transaction_id: bytes,
    response: AuthenticateServerOk | EuiccRefusal,
    ci_set: SigningSet,
    now: datetime,
) -> tuple[SignedPart, AuthenticatedEuicc]:
    """The eUICC behind this AuthenticateServerResponse: its chain, signature and challenge checked."""
    if isinstance(response, EuiccRefusal):
        reason = code_name(AuthenticateErrorCode, response.code)
        raise status.EUICC_REPORTED_ERROR.error(f"AuthenticateServer failed: {reason}")
    signed1 = response.signed1.value
    if signed1["transactionId"] != transaction_id:
        raise status.UNKNOWN_TRANSACTION.error("euiccSigned1 names another transactionId")
    euicc = verify_euicc_chain(
        response.euicc_certificate, response.eum_certificate, ci_set.ci_cert, ci_set.ci_pkid, now
    )
    verify_signature(euicc.public_key, response.signed1.raw, response.signed1.signature, "euiccSignature1")
    expected = es9_tokens.server_challenge(setup.token_key, transaction_id, ci_set.ci_pkid)
    if not hmac.compare_digest(signed1["serverChallenge"], expected):
        raise status.INVALID_EUICC_SIGNATURE.error("serverChallenge does not match this session's")
    return response.signed1, euicc


def new_session(setup: Es9Setup, transaction_id: bytes, issued: es9_tokens.IssuedSession) -> SessionRow:
    """The row of a session initiateAuthentication issued and nothing has stored yet."""
    ci_set = signing_sets(setup.credentials)[issued.set_index]
    issued_at = datetime.fromtimestamp(issued.issued_at, UTC)
    return SessionRow(
        transaction_id=tid(transaction_id),
        state=SessionState.INITIATED.value,
        eid=None,
        iccid=None,
        expires_at=issued_at + setup.session_ttl,
        data={"ci_pkid": to_hex(ci_set.ci_pkid)},
        updated_at=issued_at,
        stored=False,
    )


# -- initiateAuthentication (SGP.22 §5.6.1) --------------------------------------------------------


def initiate(
    setup: Es9Setup, now: datetime, euicc_challenge: bytes, info1: dict[str, Any], address: str
) -> dict[str, Any]:
    """The answer to initiateAuthentication: it stores nothing, as the transactionId itself carries
    (under a MAC) what authenticateClient needs to know about this session (rspserver/tokens.py).
    euicc_challenge: the 16 bytes the caller checked before decoding euiccInfo1."""
    if address.lower() != setup.address.lower():
        raise status.UNKNOWN_SMDP_ADDRESS.error(f"this SM-DP+ is {setup.address}, not {address}")
    svn = info1["svn"]
    if len(svn) != 3:
        raise status.INVALID_INPUT.error("euiccInfo1: svn must be 3 bytes")
    if svn[0] not in SUPPORTED_SVN_MAJOR:
        raise status.UNSUPPORTED_SVN.error(f"v{svn[0]}.{svn[1]}.{svn[2]}")
    chosen = choose_set(
        setup.credentials,
        list(info1["euiccCiPKIdListForVerification"]),
        list(info1["euiccCiPKIdListForSigning"]),
    )
    token_key = setup.token_key
    set_index = signing_sets(setup.credentials).index(chosen)
    transaction_id = es9_tokens.issue_transaction_id(token_key, set_index, int(now.timestamp()), setup.rng)
    server_signed1 = rsp().encode(
        "ServerSigned1",
        {
            "transactionId": transaction_id,
            "euiccChallenge": euicc_challenge,
            "serverAddress": setup.address,
            "serverChallenge": es9_tokens.server_challenge(token_key, transaction_id, chosen.ci_pkid),
        },
    )
    signature = chosen.dpauth_key.sign_plain(server_signed1)
    return {
        "transactionId": to_hex(transaction_id),
        "serverSigned1": b64(server_signed1),
        "serverSignature1": b64(signature_tlv(signature)),
        "euiccCiPKIdToBeUsed": b64(chosen.ci_pkid_tlv),
        "serverCertificate": b64(chosen.dpauth_der),
    }


# -- authenticateClient (SGP.22 §5.6.3) -------------------------------------------------------------


def decide_authenticate(
    setup: Es9Setup,
    now: datetime,
    transaction_id: bytes,
    issued: es9_tokens.IssuedSession,
    verified: tuple[SignedPart, AuthenticatedEuicc] | Es9Error,
    snapshot: OrderSnapshot,
    *,
    purge: bool = False,
) -> Decision:
    """`verified`: authenticated_euicc()'s result, or why it refused. The session row is new: a
    session this transactionId already stored makes its insert a conflict (UNKNOWN_TRANSACTION)."""
    changes = _Changes(now)
    if purge:
        changes.effects.append(PurgeExpiredSessions(now))
    row = new_session(setup, transaction_id, issued)
    try:
        if isinstance(verified, Es9Error):
            raise verified
        signed_part, euicc = verified
        ci_set = signing_sets(setup.credentials)[issued.set_index]
        answer = _authenticate(setup, changes, row, transaction_id, signed_part, euicc, ci_set, snapshot)
        return Decision(changes.effects, answer)
    except Es9Error as exc:
        changes.move_session(row, SessionEvent.FAIL)  # every authenticateClient failure ends the session
        return Decision(changes.effects, error=exc)


def order_key(signed_part: SignedPart) -> str | None:
    """The matchingId the eUICC asks with (None: default SM-DP+, the EID names the order)."""
    _, ctx = signed_part.value["ctxParams1"]
    return ctx.get("matchingId") or None


def _authenticate(
    setup: Es9Setup,
    changes: _Changes,
    row: SessionRow,
    transaction_id: bytes,
    signed_part: SignedPart,
    euicc: AuthenticatedEuicc,
    ci_set: SigningSet,
    snapshot: OrderSnapshot,
) -> dict[str, Any]:
    signed1 = signed_part.value
    profile = _copy(es9_orders.locate(snapshot.profiles, order_key(signed_part), euicc.eid))
    refusal = es9_orders.refusal(profile, euicc.eid, changes.now)
    if refusal is not None:
        if refusal.ends_order:
            changes.fail_order(profile, refusal.code, refusal.detail, point_id=1)
        raise refusal.code.error(refusal.detail)
    order = profile.order
    assert order is not None
    _check_policy_rules(changes, profile, signed1["euiccInfo2"])

    previous = _bound_session(snapshot.bound_sessions) if profile.state == State.DOWNLOADED else None
    smdp_signed2_value: dict[str, Any] = {
        "transactionId": transaction_id,
        "ccRequiredFlag": order.cc_hash is not None,
    }
    offered = es9_binding.retry_offer(order.retry_binding, euicc.eid)
    if offered is not None:  # a retry (SGP.22 §3.1.3): offer the eUICC its earlier one-time key back
        smdp_signed2_value["bppEuiccOtpk"] = offered
    smdp_signed2 = rsp().encode("SmdpSigned2", smdp_signed2_value)
    smdp_signature2 = signature_tlv(ci_set.dppb_key.sign_plain(smdp_signed2 + signed_part.signature_tlv))
    metadata = store_metadata(profile, setup.address)

    row.iccid = profile.iccid
    row.eid = euicc.eid
    row.data = {
        **row.data,
        "euicc_key": to_hex(euicc.public_point),
        "curve": euicc.curve,
        "smdp_signature2": to_hex(smdp_signature2),
        "metadata": to_hex(metadata),
        "order_version": [profile.state, order.download_attempts],
        "retry_of": previous.transaction_id if previous is not None else None,
        "offered_otpk": to_hex(offered) if offered is not None else None,
    }
    changes.move_session(row, SessionEvent.AUTHENTICATE_CLIENT)
    changes.report(profile, ProgressPoint(1), "eligibilityCheck")
    return {
        "transactionId": to_hex(transaction_id),
        "profileMetadata": b64(metadata),
        "smdpSigned2": b64(smdp_signed2),
        "smdpSignature2": b64(smdp_signature2),
        "smdpCertificate": b64(ci_set.dppb_der),
    }


def _check_policy_rules(changes: _Changes, profile: ProfileView, euicc_info2: dict[str, Any]) -> None:
    """SGP.22 §5.6.3: a profile with a PPR the eUICC forbids is no eligible profile for it."""
    refused = [ppr for ppr in profile_pprs(profile.extra) if ppr in forbidden_pprs(euicc_info2)]
    if not refused:
        return
    code = status.NO_ELIGIBLE_PROFILE
    changes.report(
        profile, ProgressPoint(1, success=False, status_code_data=status_data(code)), "eligibilityCheck"
    )
    raise code.error(f"the eUICC forbids {', '.join(refused)}, which profile {profile.iccid} carries")


def _bound_session(candidates: list[SessionRow]) -> SessionRow | None:
    """The session that last bound this profile to this eUICC (for a download retry)."""
    for candidate in candidates:
        if candidate.state == SessionState.BOUND.value and candidate.data.get("binding"):
            return candidate
    return None


# -- getBoundProfilePackage (SGP.22 §5.6.2) ---------------------------------------------------------


def decide_bind(
    setup: Es9Setup,
    now: datetime,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> Decision:
    changes = _Changes(now)
    try:
        row = _expected_session(snapshot.session, SessionEvent.GET_BOUND_PROFILE_PACKAGE, now)
    except Es9Error as exc:
        return Decision(error=exc)
    try:
        answer = _bind(setup, changes, row, transaction_id, response, snapshot)
        return Decision(changes.effects, answer)
    except _KeepSession as keep:
        return Decision(changes.effects, error=keep.error)
    except Es9Error as exc:
        changes.move_session(row, SessionEvent.FAIL)
        return Decision(changes.effects, error=exc)


def _bind(
    setup: Es9Setup,
    changes: _Changes,
    row: SessionRow,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> PackageToBuild:
    if isinstance(response, EuiccRefusal):
        reason = code_name(DownloadErrorCode, response.code)
        raise status.EUICC_REPORTED_ERROR.error(f"PrepareDownload failed: {reason}")
    signed2 = response.value
    if signed2["transactionId"] != transaction_id:
        raise status.UNKNOWN_TRANSACTION.error("euiccSigned2 names another transactionId")
    data = row.data
    euicc_key = public_key_for(data["curve"], bytes.fromhex(data["euicc_key"]))
    verify_signature(
        euicc_key,
        response.raw + bytes.fromhex(data["smdp_signature2"]),
        response.signature,
        "euiccSignature2",
    )
    ci_set = set_for_pkid(setup.credentials, bytes.fromhex(data["ci_pkid"]))
    euicc_otpk = signed2["euiccOtpk"]
    try:
        public_key_from_point(ci_set.curve, euicc_otpk)
    except OpenRSPError as exc:
        raise status.INVALID_INPUT.error(f"euiccOtpk: {exc}") from None
    if snapshot.profile is None or snapshot.profile.order is None or snapshot.profile.package is None:
        raise status.BPP_NOT_AVAILABLE.error("the download order was cancelled")
    profile = _copy(snapshot.profile)
    package = prepared_package.open_sealed(setup.sealer, profile.iccid, snapshot.profile.package)

    if row.state == SessionState.BOUND.value:  # the LPA asks again within the session
        binding = es9_binding.unseal(data["binding"], setup.sealer, profile.iccid)
        if binding.euicc_otpk != euicc_otpk:
            raise _KeepSession(status.BPP_NOT_AVAILABLE.error("this session is bound to another otPK"))
        return _package(row, transaction_id, ci_set, package, binding)

    order = profile.order
    assert order is not None
    if [profile.state, order.download_attempts] != data["order_version"]:
        raise status.BPP_NOT_AVAILABLE.error("another session took this order")
    refusal = es9_orders.refusal(profile, row.eid or "", changes.now)
    if refusal is not None:
        if refusal.ends_order:
            changes.fail_order(profile, refusal.code, refusal.detail, point_id=3)
        raise refusal.code.error(refusal.detail)
    if order.cc_hash is not None:
        _check_confirmation_code(changes, profile, transaction_id, signed2.get("hashCc"))

    previous = _previous_binding(snapshot.previous)
    if previous is not None:
        changes.move_session(previous, SessionEvent.FAIL)  # superseded by this session
    binding = None
    offered = data.get("offered_otpk")
    kept = order.retry_binding
    if offered and kept and kept["euicc_otpk"] == offered and bytes.fromhex(offered) == euicc_otpk:
        # the eUICC reused the one-time key we offered: the same otPK.DP and session keys again
        binding = es9_binding.unseal(kept, setup.sealer, profile.iccid)
    if binding is None:  # the profile's own PPK, prepared at import (None for older records)
        binding = es9_binding.new_binding(ci_set.curve, euicc_otpk, setup.rng, ppk=package.ppk)
    sealed = es9_binding.seal(binding, setup.sealer, profile.iccid)

    changes.move_order(profile, Event.BPP_DELIVERED, detail={"transactionId": to_hex(transaction_id)})
    changes.save_order(
        order,
        eid=order.eid or row.eid,  # the profile is now bound to this eUICC
        download_attempts=order.download_attempts + 1,
        retry_binding={**sealed, "eid": row.eid},  # for a retry in a later session
        updated_at=changes.now,
    )
    row.data = {**data, "binding": sealed}
    # kept while the order is Downloaded: retries and the install result need it
    changes.move_session(row, SessionEvent.GET_BOUND_PROFILE_PACKAGE, expires_at=None)
    return _package(row, transaction_id, ci_set, package, binding)


def _check_confirmation_code(
    changes: _Changes, profile: ProfileView, transaction_id: bytes, hash_cc: bytes | None
) -> None:
    order = profile.order
    assert order is not None and order.cc_hash is not None
    if hash_cc is None:
        raise _KeepSession(status.CC_MISSING.error())
    expected = hashlib.sha256(order.cc_hash + transaction_id).digest()
    if hmac.compare_digest(hash_cc, expected):
        return
    changes.save_order(order, cc_attempts=order.cc_attempts + 1, updated_at=changes.now)
    left = order.cc_max_attempts - order.cc_attempts
    if left <= 0:
        changes.fail_order(profile, status.CC_TOO_MANY_ATTEMPTS, "order locked", point_id=2)
        raise status.CC_TOO_MANY_ATTEMPTS.error(f"{order.cc_attempts} wrong codes; the order is locked")
    code = status.CC_REFUSED
    changes.report(
        profile, ProgressPoint(2, success=False, status_code_data=status_data(code)), "confirmationFailure"
    )
    raise _KeepSession(code.error(f"{left} attempt(s) left"))


def _previous_binding(previous: SessionRow | None) -> SessionRow | None:
    if previous is None or previous.state != SessionState.BOUND.value or not previous.data.get("binding"):
        return None
    return replace(previous)


def _package(
    row: SessionRow,
    transaction_id: bytes,
    ci_set: SigningSet,
    package: prepared_package.PreparedPackage,
    binding: Binding,
) -> PackageToBuild:
    metadata = bytes.fromhex(row.data["metadata"])
    return PackageToBuild(binding, transaction_id, row.eid or "", ci_set, package, metadata)


# -- handleNotification (SGP.22 §5.6.4) -------------------------------------------------------------


def decide_install_result(
    setup: Es9Setup, now: datetime, result: SignedPart, der: bytes, snapshot: SessionSnapshot
) -> Decision:
    """The ProfileInstallationResult of a bound session: recorded, the order Installed (or
    failed), the session ended. One that does not verify or does not match changes nothing."""
    changes = _Changes(now)
    try:
        _install_result(setup, changes, result, der, snapshot)
    except Es9Error as exc:
        return Decision(error=exc)  # nothing of it is stored
    return Decision(changes.effects, {})


def _install_result(
    setup: Es9Setup, changes: _Changes, result: SignedPart, der: bytes, snapshot: SessionSnapshot
) -> None:
    data = result.value
    row = _expected_session(snapshot.session, SessionEvent.INSTALL_RESULT, changes.now)
    key = public_key_for(row.data["curve"], bytes.fromhex(row.data["euicc_key"]))
    verify_signature(key, result.raw, result.signature, "euiccSignPIR")  # a forgery ends nothing
    smdp_oid = data.get("smdpOid")
    if smdp_oid and smdp_oid != setup.oid:
        raise status.INVALID_SMDP_OID.error(f"{smdp_oid} is not this SM-DP+'s OID")
    metadata = data["notificationMetadata"]
    iccid = iccid_from_bytes(metadata["iccid"]) if metadata.get("iccid") else row.iccid
    if iccid != row.iccid:
        raise status.INVALID_INPUT.error(f"the result is for ICCID {iccid}, the session for {row.iccid}")
    kind, outcome = data["finalResult"]
    success = kind == "successResult"
    summary = "installed" if success else _install_error(outcome)
    changes.effects.append(  # the session decides what happens; a duplicate row is skipped
        RecordNotification(
            event="install",
            raw=der,
            seq=sequence_number(metadata),
            eid=row.eid,
            iccid=row.iccid,
            result=summary,
        )
    )
    profile = _copy(snapshot.profile) if snapshot.profile is not None else None
    if profile is not None and profile.state == State.DOWNLOADED:
        point = ProgressPoint(4, success=success, result_data=b64(der))
        event = Event.INSTALLED if success else Event.INSTALL_FAILED
        changes.move_order(profile, event, detail={"result": summary}, progress=point)
        changes.forget_retry(profile)
    changes.move_session(row, SessionEvent.INSTALL_RESULT)


def decide_other_notification(
    setup: Es9Setup, now: datetime, notification: OtherSignedNotification, der: bytes
) -> Decision:
    """Enable/disable/delete (and other) notifications: recorded when signed by an eUICC we can
    verify; they need no snapshot (a replay is skipped when stored)."""
    try:
        effect = _other_notification(setup, now, notification, der)
    except Es9Error as exc:
        return Decision(error=exc)
    return Decision([effect], {})


def _other_notification(
    setup: Es9Setup, now: datetime, notification: OtherSignedNotification, der: bytes
) -> RecordNotification:
    eum = load_certificate(notification.eum_certificate, status.INVALID_EUM_CERT)
    ci_set = next((s for s in signing_sets(setup.credentials) if s.ci_pkid == aki_of(eum)), None)
    if ci_set is None:
        raise status.UNKNOWN_CI_KEY.error("the EUM certificate is not issued by a CI this SM-DP+ trusts")
    euicc = verify_euicc_chain(
        notification.euicc_certificate, notification.eum_certificate, ci_set.ci_cert, ci_set.ci_pkid, now
    )
    tbs = notification.tbs
    verify_signature(euicc.public_key, tbs.raw, tbs.signature, "euiccNotificationSignature")
    metadata = tbs.value
    events = bits_set(metadata["profileManagementOperation"])
    name = ",".join(NotificationEvent(bit).name.lower() for bit in sorted(events) if bit < 4) or "other"
    iccid = iccid_from_bytes(metadata["iccid"]) if metadata.get("iccid") else None
    return RecordNotification(event=name, raw=der, seq=sequence_number(metadata), eid=euicc.eid, iccid=iccid)


# -- cancelSession (SGP.22 §5.6.5) ------------------------------------------------------------------


def decide_cancel(
    setup: Es9Setup,
    now: datetime,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> Decision:
    changes = _Changes(now)
    try:
        _cancel(setup, changes, transaction_id, response, snapshot)
    except Es9Error as exc:
        return Decision(error=exc)  # a refused cancellation ends nothing
    return Decision(changes.effects, {})


def _cancel(
    setup: Es9Setup,
    changes: _Changes,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> None:
    if snapshot.session is None:
        # Cancelled before authenticateClient: a session this SM-DP+ issued, never stored yet.
        row = new_session(setup, transaction_id, issued_session(setup, transaction_id, changes.now))
    else:
        row = _expected_session(snapshot.session, SessionEvent.CANCEL, changes.now)
    if isinstance(response, EuiccRefusal):
        raise status.EUICC_REPORTED_ERROR.error(f"CancelSession failed ({response.code})")
    signed = response.value
    if signed["transactionId"] != transaction_id:
        raise status.UNKNOWN_TRANSACTION.error("euiccCancelSessionSigned names another transactionId")
    if "euicc_key" in row.data:
        # Before authenticateClient the session knows no eUICC key; nothing was issued to protect.
        key = public_key_for(row.data["curve"], bytes.fromhex(row.data["euicc_key"]))
        verify_signature(key, response.raw, response.signature, "euiccCancelSessionSignature")
    if signed["smdpOid"] != setup.oid:
        raise status.INVALID_SMDP_OID.error(f"{signed['smdpOid']} is not this SM-DP+'s OID")
    reason = int(signed["reason"])
    profile = _copy(snapshot.profile) if row.iccid and snapshot.profile is not None else None
    if profile is not None and _holds_order(row, profile):
        event = Event.SESSION_RETRYABLE if reason in RETRYABLE_CANCEL else Event.SESSION_FAILED
        detail = {"cancelSessionReason": code_name(CancelSessionReason, reason)}
        changes.move_order(profile, event, detail=detail)
        if event == Event.SESSION_FAILED:
            changes.forget_retry(profile)
        # a retryable end keeps order.retry_binding: the next session offers the same otPK back
    changes.move_session(row, SessionEvent.CANCEL)


def _holds_order(row: SessionRow, profile: ProfileView) -> bool:
    """Whether this session's fate is the order's: it bound it, or it is the one about to."""
    if row.state == SessionState.BOUND.value:
        return profile.state == State.DOWNLOADED
    version = row.data.get("order_version")
    order = profile.order
    return bool(version and order is not None and version == [profile.state, order.download_attempts])


# -- shared ------------------------------------------------------------------------------------------


def _expected_session(row: SessionRow | None, event: SessionEvent, now: datetime) -> SessionRow:
    """The RSP session, if it exists, has not expired and expects this call."""
    if row is None:
        raise status.UNKNOWN_TRANSACTION.error()
    state = SessionState(row.state)
    if state != SessionState.ENDED and row.expires_at is not None and now >= row.expires_at:
        raise status.UNKNOWN_TRANSACTION.error("the RSP session has expired")
    if not allows(state, event):
        raise status.UNKNOWN_TRANSACTION.error(f"{event.value} is not expected in session state {state}")
    return replace(row)


def _copy(profile: ProfileView) -> ProfileView:
    """The decision's own copy of a snapshot profile (it changes state and order fields as it goes)."""
    return replace(profile, order=replace(profile.order) if profile.order is not None else None)


_KEEP: Any = object()


class _Changes:
    """The effects a decision collects, in order, and the in-memory rows kept in step with them."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.effects: list[Effect] = []

    def move_session(self, row: SessionRow, event: SessionEvent, *, expires_at: Any = _KEEP) -> None:
        """The session's next state (and what else changed in the row), written at once."""
        expected = row.state if row.stored else None
        new = next_state(SessionState(row.state), event)
        row.state = new.value
        row.updated_at = self.now
        if new == SessionState.ENDED:
            row.expires_at = self.now  # the next purge removes it
        elif expires_at is not _KEEP:
            row.expires_at = expires_at
        self.effects.append(SaveSession(replace(row, data=dict(row.data)), expected))
        row.stored = True

    def move_order(
        self,
        profile: ProfileView,
        event: Event,
        *,
        detail: dict[str, Any] | None = None,
        progress: ProgressPoint | None = None,
    ) -> None:
        self.effects.append(MoveOrder(_copy(profile), event, detail, progress))
        profile.state = next_order_state(State(profile.state), event).value

    def report(self, profile: ProfileView, point: ProgressPoint, event: str) -> None:
        self.effects.append(ReportProgress(_copy(profile), point, event))

    def save_order(self, order: OrderView, **values: Any) -> None:
        for name, value in values.items():
            setattr(order, name, value)
        self.effects.append(SaveOrder(order.id, values))

    def fail_order(self, profile: ProfileView, code: StatusCode, detail: str, *, point_id: int) -> None:
        """The order cannot go on (expired, locked): it goes to Error, and the operator hears why."""
        point = ProgressPoint(point_id, success=False, status_code_data=status_data(code))
        reason = {"subjectCode": code.subject, "reasonCode": code.reason, "reason": detail}
        self.move_order(profile, Event.SESSION_FAILED, detail=reason, progress=point)
        self.forget_retry(profile)

    def forget_retry(self, profile: ProfileView) -> None:
        """The order is over (installed, failed): its one-time key binding must not serve again."""
        if profile.order is not None and profile.order.retry_binding is not None:
            self.save_order(profile.order, retry_binding=None)


class _KeepSession(Exception):
    """A getBoundProfilePackage failure after which the session stays open for another try."""

    def __init__(self, error: Es9Error) -> None:
        super().__init__(str(error))
        self.error = error


def status_data(code: StatusCode) -> dict[str, str]:
    return {"subjectCode": code.subject, "reasonCode": code.reason, "message": code.message}


def _install_error(outcome: dict[str, Any]) -> str:
    command = code_name(BppCommandId, int(outcome["bppCommandId"]))
    reason = code_name(ErrorReason, int(outcome["errorReason"]))
    return f"error: {reason} in {command}"


def sequence_number(metadata: dict[str, Any]) -> int | None:
    """The notification's seqNumber, within what the notifications table holds (32 bits)."""
    seq = metadata.get("seqNumber")
    if seq is not None and not 0 <= seq < 1 << 31:
        raise status.INVALID_INPUT.error(f"seqNumber {seq} is out of range")
    return seq
