"""initiateAuthentication (SGP.22 §5.6.1) and authenticateClient (§5.6.3): the eUICC checked, its
order chosen among the snapshot's candidates and checked, the session row to insert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openrsp.asn1 import rsp
from openrsp.hexutil import to_hex
from openrsp.rspserver import euicc_auth, status
from openrsp.rspserver import tokens as es9_tokens
from openrsp.rspserver.messages import AuthenticateServerOk, EuiccRefusal, SignedPart
from openrsp.rspserver.verify import AuthenticatedEuicc
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.es9 import binding as es9_binding
from openrsp.smdp.es9 import orders as es9_orders
from openrsp.smdp.es9.credentials import SigningSet, choose_set, signing_sets
from openrsp.smdp.es9.decisions.common import (
    Changes,
    Decision,
    Es9Setup,
    b64,
    copy_profile,
    new_session,
    signature_tlv,
    status_data,
)
from openrsp.smdp.es9.effects import PurgeExpiredSessions
from openrsp.smdp.es9.metadata import store_metadata
from openrsp.smdp.es9.views import OrderSnapshot, ProfileView, SessionRow
from openrsp.smdp.profile_policy import forbidden_pprs, profile_pprs
from openrsp.smdp.rsp_session import SessionEvent, SessionState
from openrsp.smdp.states import State

SUPPORTED_SVN_MAJOR = (2, 3)  # v2.x eUICCs, and v3 eUICCs, which speak v2 to a v2 SM-DP+


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
        "euiccCiPKIdToBeUsed": chosen.ci_pkid_tlv_b64,
        "serverCertificate": chosen.dpauth_b64,
    }


def authenticated_euicc(
    setup: Es9Setup,
    transaction_id: bytes,
    response: AuthenticateServerOk | EuiccRefusal,
    ci_set: SigningSet,
    now: datetime,
) -> tuple[SignedPart, AuthenticatedEuicc]:
    """The eUICC behind this AuthenticateServerResponse: its chain, signature and challenge checked."""
    return euicc_auth.authenticated_euicc(
        response, transaction_id, setup.token_key, ci_set.ci_cert, ci_set.ci_pkid, now
    )


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
    changes = Changes(now)
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
    changes: Changes,
    row: SessionRow,
    transaction_id: bytes,
    signed_part: SignedPart,
    euicc: AuthenticatedEuicc,
    ci_set: SigningSet,
    snapshot: OrderSnapshot,
) -> dict[str, Any]:
    signed1 = signed_part.value
    profile = copy_profile(es9_orders.locate(snapshot.profiles, order_key(signed_part), euicc.eid))
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
        "smdpCertificate": ci_set.dppb_b64,
    }


def _check_policy_rules(changes: Changes, profile: ProfileView, euicc_info2: dict[str, Any]) -> None:
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
