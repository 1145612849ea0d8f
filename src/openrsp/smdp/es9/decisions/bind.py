"""getBoundProfilePackage (SGP.22 §5.6.2): the session's euiccSigned2 checked, the order checked
against the version the session authenticated, the confirmation code, the one-time key binding
(reused for a retry), and the package to build once the effects are committed."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openrsp.asn1.rsp_types import DownloadErrorCode, code_name
from openrsp.crypto.keys import public_key_from_point
from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.rspserver import status
from openrsp.rspserver.messages import EuiccRefusal, SignedPart
from openrsp.rspserver.verify import public_key_for, verify_signature
from openrsp.smdp import prepared_package
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9 import binding as es9_binding
from openrsp.smdp.es9 import orders as es9_orders
from openrsp.smdp.es9.binding import Binding
from openrsp.smdp.es9.credentials import SigningSet, set_for_pkid
from openrsp.smdp.es9.decisions.common import (
    Changes,
    Decision,
    Es9Setup,
    b64,
    copy_profile,
    expected_session,
    status_data,
)
from openrsp.smdp.es9.views import ProfileView, SessionRow, SessionSnapshot, copied
from openrsp.smdp.rsp_session import SessionEvent, SessionState
from openrsp.smdp.states import Event


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


def decide_bind(
    setup: Es9Setup,
    now: datetime,
    transaction_id: bytes,
    response: SignedPart | EuiccRefusal,
    snapshot: SessionSnapshot,
) -> Decision:
    changes = Changes(now)
    try:
        row = expected_session(snapshot.session, SessionEvent.GET_BOUND_PROFILE_PACKAGE, now)
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
    changes: Changes,
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
        euicc_key = public_key_from_point(ci_set.curve, euicc_otpk)
    except OpenRSPError as exc:
        raise status.INVALID_INPUT.error(f"euiccOtpk: {exc}") from None
    if snapshot.profile is None or snapshot.profile.order is None or snapshot.profile.package is None:
        raise status.BPP_NOT_AVAILABLE.error("the download order was cancelled")
    profile = copy_profile(snapshot.profile)
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
        binding = es9_binding.new_binding(
            ci_set.curve, euicc_otpk, setup.rng, ppk=package.ppk, euicc_key=euicc_key
        )
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
    changes: Changes, profile: ProfileView, transaction_id: bytes, hash_cc: bytes | None
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
    return copied(previous)


def _package(
    row: SessionRow,
    transaction_id: bytes,
    ci_set: SigningSet,
    package: prepared_package.PreparedPackage,
    binding: Binding,
) -> PackageToBuild:
    metadata = bytes.fromhex(row.data["metadata"])
    return PackageToBuild(binding, transaction_id, row.eid or "", ci_set, package, metadata)


class _KeepSession(Exception):
    """A getBoundProfilePackage failure after which the session stays open for another try."""

    def __init__(self, error: Es9Error) -> None:
        super().__init__(str(error))
        self.error = error
