"""ES9+ (LPA → SM-DP+), SGP.22 §5.6: the five functions over the database, sans-I/O.

The HTTP layer (openrsp.smdp.http.app) checks the framing and calls
`Es9Service(context).<function>(body)`; the returned dict is the response without its header, and
an Es9Error becomes a Failed functionExecutionStatus with its subjectCode/reasonCode.

Each call runs in one DB transaction (es9_store: a few statements per call). initiateAuthentication
writes nothing: its transactionId carries, under a MAC, what authenticateClient needs to know
(es9_tokens), and authenticateClient writes the session row. A failure is itself a change of
state (the RSP session ends, a confirmation-code attempt is counted, an order goes to Error) and is
committed before the error goes back to the LPA. What may follow what within one RSP session is rsp_session.py's table;
what may happen to the order is states.py's. The order row is locked, and each session remembers
which version of its order it authenticated against, so of two sessions racing for one order only
one ever receives a bound profile package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

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
    parse_authenticate_server_response,
    parse_cancel_session_response,
    parse_pending_notification,
    parse_prepare_download_response,
)
from openrsp.rspserver.status import StatusCode
from openrsp.rspserver.verify import (
    AuthenticatedEuicc,
    load_certificate,
    public_key_for,
    verify_euicc_chain,
    verify_signature,
)
from openrsp.rspserver.wire import base64_field, decode, require_field, transaction_id_field
from openrsp.smdp.errors import Es9Error, IntegrityConflict, StateConflict
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9 import binding as es9_binding
from openrsp.smdp.es9 import orders as es9_orders
from openrsp.smdp.es9.binding import Binding
from openrsp.smdp.es9.credentials import SigningSet, choose_set, set_for_pkid, signing_sets
from openrsp.smdp.es9.metadata import store_metadata
from openrsp.smdp.es9.views import Es9Tx, ProfileView, SessionRow, tid
from openrsp.smdp.prepared_package import PreparedPackage
from openrsp.smdp.profile_policy import forbidden_pprs, profile_pprs
from openrsp.smdp.rsp_session import SessionEvent, SessionState, allows, next_state
from openrsp.smdp.states import Event, State

if TYPE_CHECKING:
    from openrsp.smdp.context import SmdpContext

_T = TypeVar("_T")
_log = logging.getLogger("openrsp.smdp.es9")

TAG_SIGNATURE = 0x5F37
SUPPORTED_SVN_MAJOR = (2, 3)  # v2.x eUICCs, and v3 eUICCs, which speak v2 to a v2 SM-DP+
# cancelSession reasons after which the user may simply try again; any other ends the order.
RETRYABLE_CANCEL = (CancelSessionReason.postponed, CancelSessionReason.timeout)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _signature_tlv(signature: bytes) -> bytes:
    return encode_tlv(TAG_SIGNATURE, signature)


class Es9Service:
    def __init__(self, context: SmdpContext) -> None:
        self.context = context
        self.store = context.es9_store  # the storage, behind es9/views.py's Es9Storage

    # -- initiateAuthentication (SGP.22 §5.6.1) ---------------------------------------------------

    def initiateAuthentication(self, body: dict[str, Any]) -> dict[str, Any]:
        euicc_challenge = base64_field(body, "euiccChallenge")
        if len(euicc_challenge) != 16:
            raise status.INVALID_INPUT.error("euiccChallenge must be 16 bytes")
        info1 = decode("EUICCInfo1", base64_field(body, "euiccInfo1"), "euiccInfo1")
        address = require_field(body, "smdpAddress").strip()
        if address.lower() != self.context.address.lower():
            raise status.UNKNOWN_SMDP_ADDRESS.error(f"this SM-DP+ is {self.context.address}, not {address}")
        svn = info1["svn"]
        if len(svn) != 3:
            raise status.INVALID_INPUT.error("euiccInfo1: svn must be 3 bytes")
        if svn[0] not in SUPPORTED_SVN_MAJOR:
            raise status.UNSUPPORTED_SVN.error(f"v{svn[0]}.{svn[1]}.{svn[2]}")
        chosen = choose_set(
            self.context.credentials,
            list(info1["euiccCiPKIdListForVerification"]),
            list(info1["euiccCiPKIdListForSigning"]),
        )
        # Nothing is stored yet: the transactionId itself carries (under a MAC) what
        # authenticateClient needs to know about this session (es9_tokens).
        set_index = signing_sets(self.context.credentials).index(chosen)
        issued_at = int(self.context.clock().timestamp())
        transaction_id = es9_tokens.issue_transaction_id(
            self._token_key, set_index, issued_at, self.context.rng
        )
        server_challenge = es9_tokens.server_challenge(self._token_key, transaction_id, chosen.ci_pkid)
        server_signed1 = rsp().encode(
            "ServerSigned1",
            {
                "transactionId": transaction_id,
                "euiccChallenge": euicc_challenge,
                "serverAddress": self.context.address,
                "serverChallenge": server_challenge,
            },
        )
        signature = chosen.dpauth_key.sign_plain(server_signed1)
        return {
            "transactionId": to_hex(transaction_id),
            "serverSigned1": _b64(server_signed1),
            "serverSignature1": _b64(_signature_tlv(signature)),
            "euiccCiPKIdToBeUsed": _b64(chosen.ci_pkid_tlv),
            "serverCertificate": _b64(chosen.dpauth_der),
        }

    # -- authenticateClient (SGP.22 §5.6.3) -------------------------------------------------------

    def authenticateClient(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction_id = transaction_id_field(body)
        response = parse_authenticate_server_response(base64_field(body, "authenticateServerResponse"))
        now = self.context.clock()
        issued = self._issued_session(transaction_id, now)
        return self._run(
            lambda tx: self._authenticate_client(tx, transaction_id, issued, response, now),
            conflict=status.MATCHING_ID_REFUSED,
        )

    @property
    def _token_key(self) -> bytes:
        return self.context.sealer.subkey("es9-transaction")

    def _issued_session(self, transaction_id: bytes, now: datetime) -> es9_tokens.IssuedSession:
        """What initiateAuthentication issued under this transactionId, if it did and it is still valid."""
        issued = es9_tokens.open_transaction_id(self._token_key, transaction_id)
        if issued is None:
            raise status.UNKNOWN_TRANSACTION.error()
        if issued.set_index >= len(signing_sets(self.context.credentials)):
            # The credentials changed under a live session (restart with other keys): it cannot go on.
            raise status.UNKNOWN_TRANSACTION.error("the session's CI is no longer configured")
        if now.timestamp() >= issued.issued_at + self.context.config.session_ttl_seconds:
            raise status.UNKNOWN_TRANSACTION.error("the RSP session has expired")
        return issued

    def _authenticated_euicc(
        self,
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
        verify_signature(
            euicc.public_key, response.signed1.raw, response.signed1.signature, "euiccSignature1"
        )
        expected = es9_tokens.server_challenge(self._token_key, transaction_id, ci_set.ci_pkid)
        if not hmac.compare_digest(signed1["serverChallenge"], expected):
            raise status.INVALID_EUICC_SIGNATURE.error("serverChallenge does not match this session's")
        return response.signed1, euicc

    def _new_session(
        self, transaction_id: bytes, issued: es9_tokens.IssuedSession, ci_pkid: bytes
    ) -> SessionRow:
        expires = datetime.fromtimestamp(issued.issued_at, UTC) + self.context.session_ttl
        return SessionRow(
            transaction_id=tid(transaction_id),
            state=SessionState.INITIATED.value,
            eid=None,
            iccid=None,
            expires_at=expires,
            data={"ci_pkid": to_hex(ci_pkid)},
            updated_at=datetime.fromtimestamp(issued.issued_at, UTC),
            stored=False,
        )

    def _authenticate_client(
        self,
        tx: Es9Tx,
        transaction_id: bytes,
        issued: es9_tokens.IssuedSession,
        response: AuthenticateServerOk | EuiccRefusal,
        now: datetime,
    ) -> dict[str, Any]:
        if transaction_id[0] < 4:  # now and then (1 in 64), sweep away sessions that expired
            tx.purge_expired_sessions()
        if tx.get_session(tid(transaction_id)) is not None:
            raise status.UNKNOWN_TRANSACTION.error("this session was authenticated or ended already")
        ci_set = signing_sets(self.context.credentials)[issued.set_index]
        row = self._new_session(transaction_id, issued, ci_set.ci_pkid)
        try:
            signed1, euicc = self._authenticated_euicc(transaction_id, response, ci_set, now)
            return self._authenticate(tx, row, transaction_id, signed1, euicc, ci_set, now)
        except Es9Error:
            self._move(tx, row, SessionEvent.FAIL, now)  # every authenticateClient failure ends the session
            raise

    def _authenticate(
        self,
        tx: Es9Tx,
        row: SessionRow,
        transaction_id: bytes,
        signed_part: SignedPart,
        euicc: AuthenticatedEuicc,
        ci_set: SigningSet,
        now: datetime,
    ) -> dict[str, Any]:
        signed1 = signed_part.value
        _, ctx = signed1["ctxParams1"]
        profile = es9_orders.locate(tx, ctx.get("matchingId") or None, euicc.eid)
        refusal = es9_orders.refusal(profile, euicc.eid, now)
        if refusal is not None:
            if refusal.ends_order:
                self._fail_order(tx, profile, refusal.code, refusal.detail, point_id=1)
            raise refusal.code.error(refusal.detail)
        order = profile.order
        assert order is not None
        self._check_policy_rules(tx, profile, signed1["euiccInfo2"])

        previous = self._bound_session(tx, profile, euicc.eid) if profile.state == State.DOWNLOADED else None
        smdp_signed2_value: dict[str, Any] = {
            "transactionId": transaction_id,
            "ccRequiredFlag": order.cc_hash is not None,
        }
        offered = es9_binding.retry_offer(order.retry_binding, euicc.eid)
        if offered is not None:  # a retry (SGP.22 §3.1.3): offer the eUICC its earlier one-time key back
            smdp_signed2_value["bppEuiccOtpk"] = offered
        smdp_signed2 = rsp().encode("SmdpSigned2", smdp_signed2_value)
        smdp_signature2 = _signature_tlv(ci_set.dppb_key.sign_plain(smdp_signed2 + signed_part.signature_tlv))
        metadata = store_metadata(profile, self.context.address)

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
        self._move(tx, row, SessionEvent.AUTHENTICATE_CLIENT, now)
        tx.report_progress(profile, ProgressPoint(1), event_="eligibilityCheck")
        return {
            "transactionId": to_hex(transaction_id),
            "profileMetadata": _b64(metadata),
            "smdpSigned2": _b64(smdp_signed2),
            "smdpSignature2": _b64(smdp_signature2),
            "smdpCertificate": _b64(ci_set.dppb_der),
        }

    @staticmethod
    def _check_policy_rules(tx: Es9Tx, profile: ProfileView, euicc_info2: dict[str, Any]) -> None:
        """SGP.22 §5.6.3: a profile with a PPR the eUICC forbids is no eligible profile for it."""
        refused = [ppr for ppr in profile_pprs(profile.extra) if ppr in forbidden_pprs(euicc_info2)]
        if not refused:
            return
        code = status.NO_ELIGIBLE_PROFILE
        point = ProgressPoint(1, success=False, status_code_data=_status_data(code))
        tx.report_progress(profile, point, event_="eligibilityCheck")
        raise code.error(f"the eUICC forbids {', '.join(refused)}, which profile {profile.iccid} carries")

    def _bound_session(self, tx: Es9Tx, profile: ProfileView, eid: str) -> SessionRow | None:
        """The session that last bound this profile to this eUICC (for a download retry)."""
        for candidate in tx.bound_sessions(profile.iccid, eid, SessionState.BOUND.value):
            if candidate.data.get("binding"):
                return candidate
        return None

    # -- getBoundProfilePackage (SGP.22 §5.6.2) ---------------------------------------------------

    def getBoundProfilePackage(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction_id = transaction_id_field(body)
        response = parse_prepare_download_response(base64_field(body, "prepareDownloadResponse"))
        now = self.context.clock()
        build = self._run(
            lambda tx: self._get_bound_profile_package(tx, transaction_id, response, now),
            conflict=status.BPP_NOT_AVAILABLE,
        )
        # The package is built after the commit: it needs no database, and the binding it is
        # built from is stored, so a retry in this session rebuilds an equivalent one.
        return build()

    def _get_bound_profile_package(
        self, tx: Es9Tx, transaction_id: bytes, response: SignedPart | EuiccRefusal, now: datetime
    ) -> Callable[[], dict[str, Any]]:
        row = self._session(tx, transaction_id, SessionEvent.GET_BOUND_PROFILE_PACKAGE, now)
        try:
            return self._bind(tx, row, transaction_id, response, now)
        except _KeepSession as keep:
            raise keep.error from None
        except Es9Error:
            self._move(tx, row, SessionEvent.FAIL, now)
            raise

    def _bind(
        self,
        tx: Es9Tx,
        row: SessionRow,
        transaction_id: bytes,
        response: SignedPart | EuiccRefusal,
        now: datetime,
    ) -> Callable[[], dict[str, Any]]:
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
        ci_set = set_for_pkid(self.context.credentials, bytes.fromhex(data["ci_pkid"]))
        euicc_otpk = signed2["euiccOtpk"]
        try:
            public_key_from_point(ci_set.curve, euicc_otpk)
        except OpenRSPError as exc:
            raise status.INVALID_INPUT.error(f"euiccOtpk: {exc}") from None
        profile = tx.profile_by_iccid(row.iccid or "", with_package=True)
        if profile is None or profile.order is None:
            raise status.BPP_NOT_AVAILABLE.error("the download order was cancelled")
        package = self.store.open_package(profile)

        if row.state == SessionState.BOUND.value:  # the LPA asks again within the session
            binding = es9_binding.unseal(data["binding"], self.context.sealer, profile.iccid)
            if binding.euicc_otpk != euicc_otpk:
                raise _KeepSession(status.BPP_NOT_AVAILABLE.error("this session is bound to another otPK"))
            return self._package(row, transaction_id, ci_set, package, binding)

        order = profile.order
        if [profile.state, order.download_attempts] != data["order_version"]:
            raise status.BPP_NOT_AVAILABLE.error("another session took this order")
        refusal = es9_orders.refusal(profile, row.eid or "", now)
        if refusal is not None:
            if refusal.ends_order:
                self._fail_order(tx, profile, refusal.code, refusal.detail, point_id=3)
            raise refusal.code.error(refusal.detail)
        if order.cc_hash is not None:
            self._check_confirmation_code(tx, profile, transaction_id, signed2.get("hashCc"))

        previous = self._previous_binding(tx, data.get("retry_of"))
        if previous is not None:
            self._move(tx, previous, SessionEvent.FAIL, now)  # superseded by this session
        binding = None
        offered = data.get("offered_otpk")
        kept = order.retry_binding
        if offered and kept and kept["euicc_otpk"] == offered and bytes.fromhex(offered) == euicc_otpk:
            # the eUICC reused the one-time key we offered: the same otPK.DP and session keys again
            binding = es9_binding.unseal(kept, self.context.sealer, profile.iccid)
        if binding is None:  # the profile's own PPK, prepared at import (None for older records)
            binding = es9_binding.new_binding(ci_set.curve, euicc_otpk, self.context.rng, ppk=package.ppk)
        sealed = es9_binding.seal(binding, self.context.sealer, profile.iccid)

        tx.transition(profile, Event.BPP_DELIVERED, detail={"transactionId": to_hex(transaction_id)})
        tx.save_order(
            order,
            eid=order.eid or row.eid,  # the profile is now bound to this eUICC
            download_attempts=order.download_attempts + 1,
            retry_binding={**sealed, "eid": row.eid},  # for a retry in a later session
            updated_at=now,
        )
        row.data = {**data, "binding": sealed}
        # kept while the order is Downloaded: retries and the install result need it
        self._move(tx, row, SessionEvent.GET_BOUND_PROFILE_PACKAGE, now, expires_at=None)
        return self._package(row, transaction_id, ci_set, package, binding)

    def _check_confirmation_code(
        self, tx: Es9Tx, profile: ProfileView, transaction_id: bytes, hash_cc: bytes | None
    ) -> None:
        order = profile.order
        assert order is not None and order.cc_hash is not None
        if hash_cc is None:
            raise _KeepSession(status.CC_MISSING.error())
        expected = hashlib.sha256(order.cc_hash + transaction_id).digest()
        if hmac.compare_digest(hash_cc, expected):
            return
        tx.save_order(order, cc_attempts=order.cc_attempts + 1, updated_at=self.context.clock())
        left = order.cc_max_attempts - order.cc_attempts
        if left <= 0:
            self._fail_order(tx, profile, status.CC_TOO_MANY_ATTEMPTS, "order locked", point_id=2)
            raise status.CC_TOO_MANY_ATTEMPTS.error(f"{order.cc_attempts} wrong codes; the order is locked")
        code = status.CC_REFUSED
        point = ProgressPoint(2, success=False, status_code_data=_status_data(code))
        tx.report_progress(profile, point, event_="confirmationFailure")
        raise _KeepSession(code.error(f"{left} attempt(s) left"))

    def _previous_binding(self, tx: Es9Tx, transaction_id: str | None) -> SessionRow | None:
        if not transaction_id:
            return None
        previous = tx.get_session(transaction_id)
        if previous is None or previous.state != SessionState.BOUND.value or not previous.data.get("binding"):
            return None
        return previous

    def _package(
        self,
        row: SessionRow,
        transaction_id: bytes,
        ci_set: SigningSet,
        package: PreparedPackage,
        binding: Binding,
    ) -> Callable[[], dict[str, Any]]:
        """The getBoundProfilePackage answer, to build once the transaction is over."""
        eid, metadata = row.eid or "", bytes.fromhex(row.data["metadata"])

        def build() -> dict[str, Any]:
            bpp = es9_binding.bound_package(
                binding,
                transaction_id=transaction_id,
                eid=eid,
                signing=ci_set,
                profile_package=package,
                store_metadata=metadata,
            )
            return {"transactionId": to_hex(transaction_id), "boundProfilePackage": _b64(bpp)}

        return build

    # -- handleNotification (SGP.22 §5.6.4) -------------------------------------------------------

    def handleNotification(self, body: dict[str, Any]) -> dict[str, Any]:
        """Acknowledged (204) whenever it is well-formed: SGP.22 gives this function no business
        error, and the LPA needs the acknowledgement to remove the notification from the eUICC.
        One that does not verify or does not match what this SM-DP+ knows (unknown or finished
        transaction, another ICCID, a forged signature …) changes nothing and is logged; a replay
        (same EID and seqNumber) is not stored again. Malformed input is still refused: DER that does
        not decode (1.3.1/2.1), certificates that are not X.509 (8.1.2/8.1.3 with 6.1)."""
        der = base64_field(body, "pendingNotification")
        notification = parse_pending_notification(der)
        if isinstance(notification, OtherSignedNotification):  # certificates that are not X.509 DER
            load_certificate(notification.eum_certificate, status.INVALID_EUM_CERT)  # are malformed
            load_certificate(notification.euicc_certificate, status.INVALID_EUICC_CERT)  # input
        now = self.context.clock()
        try:
            if isinstance(notification, OtherSignedNotification):
                self._other_notification(notification, der, now)
            else:
                self._run(
                    lambda tx: self._install_result(tx, notification, der, now),
                    conflict=status.UNKNOWN_TRANSACTION,
                )
        except Es9Error as exc:
            _log.warning("handleNotification acknowledged, nothing recorded: %s", exc)
        return {}

    def _install_result(self, tx: Es9Tx, result: SignedPart, der: bytes, now: datetime) -> dict[str, Any]:
        data = result.value
        row = self._session(tx, data["transactionId"], SessionEvent.INSTALL_RESULT, now)
        key = public_key_for(row.data["curve"], bytes.fromhex(row.data["euicc_key"]))
        verify_signature(key, result.raw, result.signature, "euiccSignPIR")  # a forgery ends nothing
        smdp_oid = data.get("smdpOid")
        if smdp_oid and smdp_oid != self._smdp_oid():
            raise status.INVALID_SMDP_OID.error(f"{smdp_oid} is not this SM-DP+'s OID")
        metadata = data["notificationMetadata"]
        iccid = iccid_from_bytes(metadata["iccid"]) if metadata.get("iccid") else row.iccid
        if iccid != row.iccid:
            raise status.INVALID_INPUT.error(f"the result is for ICCID {iccid}, the session for {row.iccid}")
        kind, outcome = data["finalResult"]
        success = kind == "successResult"
        summary = "installed" if success else _install_error(outcome)
        tx.record_notification(  # the session decides what happens; a duplicate row is skipped
            event_="install",
            raw=der,
            seq=_sequence_number(metadata),
            eid=row.eid,
            iccid=row.iccid,
            result=summary,
        )
        profile = tx.profile_by_iccid(row.iccid or "")
        if profile is not None and profile.state == State.DOWNLOADED:
            point = ProgressPoint(4, success=success, result_data=_b64(der))
            event = Event.INSTALLED if success else Event.INSTALL_FAILED
            tx.transition(profile, event, detail={"result": summary}, progress=point)
            self._forget_retry(tx, profile)
        self._move(tx, row, SessionEvent.INSTALL_RESULT, now)
        return {}

    def _other_notification(
        self, notification: OtherSignedNotification, der: bytes, now: datetime
    ) -> dict[str, Any]:
        """Enable/disable/delete (and other) notifications: signed by an eUICC we can verify."""
        eum = load_certificate(notification.eum_certificate, status.INVALID_EUM_CERT)
        ci_set = next((s for s in signing_sets(self.context.credentials) if s.ci_pkid == aki_of(eum)), None)
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
        seq = _sequence_number(metadata)
        try:
            with self.store.transaction() as tx:
                stored = tx.record_notification(event_=name, raw=der, seq=seq, eid=euicc.eid, iccid=iccid)
        except IntegrityConflict:  # its twin, in another transaction, was stored first
            stored = False
        if not stored:
            _log.warning(
                "handleNotification: %s notification %s of eUICC %s already recorded", name, seq, euicc.eid
            )
        return {}

    # -- cancelSession (SGP.22 §5.6.5) ------------------------------------------------------------

    def cancelSession(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction_id = transaction_id_field(body)
        response = parse_cancel_session_response(base64_field(body, "cancelSessionResponse"))
        now = self.context.clock()
        return self._run(
            lambda tx: self._cancel(tx, transaction_id, response, now), conflict=status.UNKNOWN_TRANSACTION
        )

    def _cancel(
        self, tx: Es9Tx, transaction_id: bytes, response: SignedPart | EuiccRefusal, now: datetime
    ) -> dict[str, Any]:
        if tx.get_session(tid(transaction_id)) is None:
            # Cancelled before authenticateClient: a session this SM-DP+ issued, never stored yet.
            issued = self._issued_session(transaction_id, now)
            ci_set = signing_sets(self.context.credentials)[issued.set_index]
            row = self._new_session(transaction_id, issued, ci_set.ci_pkid)
        else:
            row = self._session(tx, transaction_id, SessionEvent.CANCEL, now)
        if isinstance(response, EuiccRefusal):
            raise status.EUICC_REPORTED_ERROR.error(f"CancelSession failed ({response.code})")
        signed = response.value
        if signed["transactionId"] != transaction_id:
            raise status.UNKNOWN_TRANSACTION.error("euiccCancelSessionSigned names another transactionId")
        if "euicc_key" in row.data:
            # Before authenticateClient the session knows no eUICC key; nothing was issued to protect.
            key = public_key_for(row.data["curve"], bytes.fromhex(row.data["euicc_key"]))
            verify_signature(key, response.raw, response.signature, "euiccCancelSessionSignature")
        if signed["smdpOid"] != self._smdp_oid():
            raise status.INVALID_SMDP_OID.error(f"{signed['smdpOid']} is not this SM-DP+'s OID")
        reason = int(signed["reason"])
        profile = tx.profile_by_iccid(row.iccid) if row.iccid else None
        if profile is not None and self._holds_order(row, profile):
            event = Event.SESSION_RETRYABLE if reason in RETRYABLE_CANCEL else Event.SESSION_FAILED
            detail = {"cancelSessionReason": code_name(CancelSessionReason, reason)}
            tx.transition(profile, event, detail=detail)
            if event == Event.SESSION_FAILED:
                self._forget_retry(tx, profile)
            # a retryable end keeps order.retry_binding: the next session offers the same otPK back
        self._move(tx, row, SessionEvent.CANCEL, now)
        return {}

    @staticmethod
    def _holds_order(row: SessionRow, profile: ProfileView) -> bool:
        """Whether this session's fate is the order's: it bound it, or it is the one about to."""
        if row.state == SessionState.BOUND.value:
            return profile.state == State.DOWNLOADED
        version = row.data.get("order_version")
        order = profile.order
        return bool(version and order is not None and version == [profile.state, order.download_attempts])

    # -- shared ------------------------------------------------------------------------------------

    def _smdp_oid(self) -> str:
        return str(getattr(self.context.credentials, "oid", ""))

    def _run(self, work: Callable[[Es9Tx], _T], *, conflict: StatusCode) -> _T:
        """Run work in one transaction; an Es9Error commits what the failure changed, then goes out."""
        failure: Es9Error | None = None
        result: _T | None = None
        try:
            with self.store.transaction() as tx:
                try:
                    result = work(tx)
                except Es9Error as exc:
                    failure = exc
        except StateConflict as exc:
            raise conflict.error(str(exc)) from None
        except IntegrityConflict:  # another call wrote this session first (authenticateClient twice)
            raise status.UNKNOWN_TRANSACTION.error(
                "this session was authenticated or ended already"
            ) from None
        if failure is not None:
            raise failure
        assert result is not None
        return result

    def _session(self, tx: Es9Tx, transaction_id: bytes, event: SessionEvent, now: datetime) -> SessionRow:
        """The RSP session (locked), if it exists, has not expired and expects this call."""
        row = tx.get_session(tid(transaction_id))
        if row is None:
            raise status.UNKNOWN_TRANSACTION.error()
        state = SessionState(row.state)
        if state != SessionState.ENDED and row.expires_at is not None and now >= row.expires_at:
            raise status.UNKNOWN_TRANSACTION.error("the RSP session has expired")
        if not allows(state, event):
            raise status.UNKNOWN_TRANSACTION.error(f"{event.value} is not expected in session state {state}")
        return row

    _KEEP = object()

    def _move(
        self, tx: Es9Tx, row: SessionRow, event: SessionEvent, now: datetime, *, expires_at: Any = _KEEP
    ) -> None:
        """The session's next state (and what else changed in the row), written at once."""
        new = next_state(SessionState(row.state), event)
        row.state = new.value
        row.updated_at = now
        if new == SessionState.ENDED:
            row.expires_at = now  # the next purge removes it
        elif expires_at is not self._KEEP:
            row.expires_at = expires_at
        tx.save_session(row)

    def _fail_order(
        self, tx: Es9Tx, profile: ProfileView, code: StatusCode, detail: str, *, point_id: int
    ) -> None:
        """The order cannot go on (expired, locked): it goes to Error, and the operator hears why."""
        point = ProgressPoint(point_id, success=False, status_code_data=_status_data(code))
        reason = {"subjectCode": code.subject, "reasonCode": code.reason, "reason": detail}
        tx.transition(profile, Event.SESSION_FAILED, detail=reason, progress=point)
        self._forget_retry(tx, profile)

    @staticmethod
    def _forget_retry(tx: Es9Tx, profile: ProfileView) -> None:
        """The order is over (installed, failed): its one-time key binding must not serve again."""
        if profile.order is not None and profile.order.retry_binding is not None:
            tx.save_order(profile.order, retry_binding=None)


class _KeepSession(Exception):
    """A getBoundProfilePackage failure after which the session stays open for another try."""

    def __init__(self, error: Es9Error) -> None:
        super().__init__(str(error))
        self.error = error


def _status_data(code: StatusCode) -> dict[str, str]:
    return {"subjectCode": code.subject, "reasonCode": code.reason, "message": code.message}


def _install_error(outcome: dict[str, Any]) -> str:
    command = code_name(BppCommandId, int(outcome["bppCommandId"]))
    reason = code_name(ErrorReason, int(outcome["errorReason"]))
    return f"error: {reason} in {command}"


def _sequence_number(metadata: dict[str, Any]) -> int | None:
    """The notification's seqNumber, within what the notifications table holds (32 bits)."""
    seq = metadata.get("seqNumber")
    if seq is not None and not 0 <= seq < 1 << 31:
        raise status.INVALID_INPUT.error(f"seqNumber {seq} is out of range")
    return seq
