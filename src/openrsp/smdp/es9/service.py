"""ES9+ (LPA → SM-DP+), SGP.22 §5.6: the five functions, as storage around a pure core.

The HTTP layer (openrsp.smdp.http.app) checks the framing and calls
`Es9Service(context).<function>(body)`; the returned dict is the response without its header, and
an Es9Error becomes a Failed functionExecutionStatus with its subjectCode/reasonCode.

Each call is the same four steps (the h11 shape): parse and check the request (no storage); in one
transaction, read the snapshot it needs (es9/views.py: one joined, locked read for most calls) and
run its pure decision (es9/decisions/: request, snapshot, now, randomness and keys in; answer and
effects out); apply the effects (es9/effects.py) with their conditional writes; commit before
answering. initiateAuthentication stores nothing: its transactionId carries, under a MAC, what
authenticateClient needs to know (rspserver/tokens.py), and authenticateClient writes the session row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from openrsp.rspserver import status
from openrsp.rspserver.messages import (
    OtherSignedNotification,
    parse_authenticate_server_response,
    parse_cancel_session_response,
    parse_pending_notification,
    parse_prepare_download_response,
)
from openrsp.rspserver.status import StatusCode
from openrsp.rspserver.verify import load_certificate
from openrsp.rspserver.wire import base64_field, decode, require_field, transaction_id_field
from openrsp.smdp.errors import Es9Error, IntegrityConflict, StateConflict
from openrsp.smdp.es9 import decisions
from openrsp.smdp.es9 import orders as es9_orders
from openrsp.smdp.es9.credentials import signing_sets
from openrsp.smdp.es9.decisions import Decision, Es9Setup, PackageToBuild
from openrsp.smdp.es9.effects import RecordNotification
from openrsp.smdp.es9.views import Es9Storage, Es9Tx, OrderSnapshot, SessionSnapshot, tid
from openrsp.smdp.rsp_session import SessionState
from openrsp.smdp.states import State

if TYPE_CHECKING:
    from openrsp.smdp.context import SmdpContext

_T = TypeVar("_T")
_log = logging.getLogger("openrsp.smdp.es9")


class Es9Service:
    def __init__(self, context: SmdpContext, store: Es9Storage | None = None) -> None:
        self.context = context
        # the storage, behind es9/views.py's Es9Storage (default: the context's)
        self.store = store if store is not None else context.es9_store
        self.setup = Es9Setup(
            address=context.address,
            credentials=context.credentials,
            sealer=context.sealer,
            session_ttl=context.session_ttl,
            rng=context.rng,
        )

    # -- initiateAuthentication (SGP.22 §5.6.1) ---------------------------------------------------

    def initiateAuthentication(self, body: dict[str, Any]) -> dict[str, Any]:
        euicc_challenge = base64_field(body, "euiccChallenge")
        if len(euicc_challenge) != 16:
            raise status.INVALID_INPUT.error("euiccChallenge must be 16 bytes")
        info1 = decode("EUICCInfo1", base64_field(body, "euiccInfo1"), "euiccInfo1")
        address = require_field(body, "smdpAddress").strip()
        return decisions.initiate(self.setup, self.context.clock(), euicc_challenge, info1, address)

    # -- authenticateClient (SGP.22 §5.6.3) -------------------------------------------------------

    def authenticateClient(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction_id = transaction_id_field(body)
        response = parse_authenticate_server_response(base64_field(body, "authenticateServerResponse"))
        now = self.context.clock()
        issued = decisions.issued_session(self.setup, transaction_id, now)
        ci_set = signing_sets(self.context.credentials)[issued.set_index]
        # The eUICC is verified before the transaction: it needs no storage, and the locks are
        # then held for the decision alone.
        verified: Any
        try:
            verified = decisions.authenticated_euicc(self.setup, transaction_id, response, ci_set, now)
        except Es9Error as exc:
            verified = exc

        def read(tx: Es9Tx) -> OrderSnapshot:
            if isinstance(verified, Es9Error):
                return OrderSnapshot(profiles=[])
            signed_part, euicc = verified
            return _order_snapshot(tx, decisions.order_key(signed_part), euicc.eid)

        decision = self._run(
            read,
            lambda snapshot: decisions.decide_authenticate(
                self.setup,
                now,
                transaction_id,
                issued,
                verified,
                snapshot,
                purge=transaction_id[0] < 4,  # now and then (1 in 64), sweep away expired sessions
            ),
            conflict=status.MATCHING_ID_REFUSED,
        )
        assert isinstance(decision.answer, dict)
        return decision.answer

    # -- getBoundProfilePackage (SGP.22 §5.6.2) ---------------------------------------------------

    def getBoundProfilePackage(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction_id = transaction_id_field(body)
        response = parse_prepare_download_response(base64_field(body, "prepareDownloadResponse"))
        now = self.context.clock()
        decision = self._run(
            lambda tx: _session_snapshot(tx, transaction_id, with_package=True),
            lambda snapshot: decisions.decide_bind(self.setup, now, transaction_id, response, snapshot),
            conflict=status.BPP_NOT_AVAILABLE,
        )
        # The package is built after the commit: it needs no database, and the binding it is
        # built from is stored, so a retry in this session rebuilds an equivalent one.
        assert isinstance(decision.answer, PackageToBuild)
        return decision.answer.build()

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
                self._other_notification(
                    decisions.decide_other_notification(self.setup, now, notification, der)
                )
            else:
                result = notification
                self._run(
                    lambda tx: _session_snapshot(tx, result.value["transactionId"]),
                    lambda snapshot: decisions.decide_install_result(self.setup, now, result, der, snapshot),
                    conflict=status.UNKNOWN_TRANSACTION,
                )
        except Es9Error as exc:
            _log.warning("handleNotification acknowledged, nothing recorded: %s", exc)
        return {}

    def _other_notification(self, decision: Decision) -> None:
        if decision.error is not None:
            raise decision.error
        try:
            with self.store.transaction() as tx:
                skipped = tx.apply(decision.effects).notifications_skipped
        except IntegrityConflict:  # its twin, in another transaction, was stored first
            skipped = 1
        if skipped:
            [note] = decision.effects
            assert isinstance(note, RecordNotification)
            _log.warning(
                "handleNotification: %s notification %s of eUICC %s already recorded",
                note.event,
                note.seq,
                note.eid,
            )

    # -- cancelSession (SGP.22 §5.6.5) ------------------------------------------------------------

    def cancelSession(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction_id = transaction_id_field(body)
        response = parse_cancel_session_response(base64_field(body, "cancelSessionResponse"))
        now = self.context.clock()
        self._run(
            lambda tx: _session_snapshot(tx, transaction_id),
            lambda snapshot: decisions.decide_cancel(self.setup, now, transaction_id, response, snapshot),
            conflict=status.UNKNOWN_TRANSACTION,
        )
        return {}

    # -- shared ------------------------------------------------------------------------------------

    def _run(
        self, read: Callable[[Es9Tx], _T], decide: Callable[[_T], Decision], *, conflict: StatusCode
    ) -> Decision:
        """In one transaction: the snapshot, the decision, its effects; committed (a failure's
        effects too), then the answer or the error goes out. A conditional write that finds the
        row changed fails the whole call with `conflict`, and nothing of it is stored."""
        try:
            with self.store.transaction() as tx:
                decision = decide(read(tx))
                tx.apply(decision.effects)
        except StateConflict as exc:
            raise conflict.error(str(exc)) from None
        except IntegrityConflict:  # another call wrote this session first (authenticateClient twice)
            raise status.UNKNOWN_TRANSACTION.error(
                "this session was authenticated or ended already"
            ) from None
        if decision.error is not None:
            raise decision.error
        return decision


def _order_snapshot(tx: Es9Tx, matching_id: str | None, eid: str) -> OrderSnapshot:
    """The candidate orders (one locked read); for a retry, the sessions that bound the order."""
    profiles = tx.profiles_for(matching_id=matching_id, eid=eid)
    chosen = es9_orders.chosen(profiles, matching_id)
    if chosen is None or chosen.state != State.DOWNLOADED:
        return OrderSnapshot(profiles)
    return OrderSnapshot(profiles, tx.bound_sessions(chosen.iccid, eid))


def _session_snapshot(tx: Es9Tx, transaction_id: bytes, *, with_package: bool = False) -> SessionSnapshot:
    """The session with its profile (one locked read); for a retry's getBoundProfilePackage, the
    session it supersedes."""
    session, profile = tx.session_with_profile(tid(transaction_id), with_package=with_package)
    previous = None
    if with_package and session is not None and session.state == SessionState.AUTHENTICATED.value:
        retry_of = session.data.get("retry_of")
        previous = tx.session(retry_of) if retry_of else None
    return SessionSnapshot(session, profile, previous)
