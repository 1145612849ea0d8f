"""ES11 (LPA -> SM-DS), SGP.22 §5.8: InitiateAuthentication and AuthenticateClient, sans-I/O.

The eUICC authenticates to an SM-DS exactly as to an SM-DP+ (§3.6.3 "Event Retrieval": the common
mutual authentication), so this reuses the SM-DP+'s pieces for it: the stateless transactionId and
serverChallenge (openrsp.rspserver.tokens), the parsing of AuthenticateServerResponse
(es9_messages), the eUICC chain and signature checks and their status codes (es9_verify,
es9_status). What differs: the server signs with CERT.DSauth, the ctxParams1 must be those of
common authentication without a matchingId, and the answer is the event list of the EID that
the eUICC's own certificate names. Nothing in a request can ask for another EID's events.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from openrsp.asn1 import rsp
from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.ecdsa import sign_plain
from openrsp.hexutil import to_hex
from openrsp.rspserver import status as es9_status
from openrsp.rspserver import tokens as es9_tokens
from openrsp.rspserver.euicc_auth import authenticated_euicc
from openrsp.rspserver.messages import AuthenticateServerOk, EuiccRefusal, parse_authenticate_server_response
from openrsp.rspserver.wire import base64_field, decode, transaction_id_field
from openrsp.smds import status
from openrsp.smds.credentials import SmdsCredentials
from openrsp.smds.store import EventStore

TAG_SIGNATURE = 0x5F37
SUPPORTED_SVN_MAJOR = (2, 3)


@dataclass
class Es11Context:
    credentials: SmdsCredentials
    store: EventStore
    address: str  # this SM-DS's address, as the LPA names it and serverSigned1 carries it
    token_key: bytes
    session_ttl: timedelta
    clock: Callable[[], datetime]
    rng: Callable[[int], bytes]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Es11Service:
    def __init__(self, context: Es11Context) -> None:
        self.context = context

    # -- InitiateAuthentication (SGP.22 §5.8.1) --------------------------------------------------------

    def initiateAuthentication(self, body: dict[str, Any]) -> dict[str, Any]:
        ctx = self.context
        euicc_challenge = base64_field(body, "euiccChallenge")
        if len(euicc_challenge) != 16:
            raise es9_status.INVALID_INPUT.error("euiccChallenge must be 16 bytes")
        info1 = decode("EUICCInfo1", base64_field(body, "euiccInfo1"), "euiccInfo1")
        # SGP.22 names the field smdsAddress; lpac (reusing its ES9+ code) sends smdpAddress.
        address = body.get("smdsAddress", body.get("smdpAddress"))
        if not isinstance(address, str):
            raise es9_status.MISSING_INPUT.error("smdsAddress is missing")
        if address.strip().lower() != ctx.address.lower():
            raise status.INVALID_SMDS_ADDRESS.error(f"this SM-DS is {ctx.address}, not {address.strip()}")
        svn = info1["svn"]
        if len(svn) != 3:
            raise es9_status.INVALID_INPUT.error("euiccInfo1: svn must be 3 bytes")
        if svn[0] not in SUPPORTED_SVN_MAJOR:
            raise es9_status.UNSUPPORTED_SVN.error(f"v{svn[0]}.{svn[1]}.{svn[2]}")
        for_verification = list(info1["euiccCiPKIdListForVerification"])
        for_signing = list(info1["euiccCiPKIdListForSigning"])
        chosen = ctx.credentials.choose(for_verification, for_signing)
        if chosen is None:
            if not ctx.credentials.knows_signing_ci(for_signing):
                raise es9_status.UNSUPPORTED_PKID.error()
            raise es9_status.StatusCode(
                "8.8.4", "3.7", "no CERT.DSauth chains to a CI the eUICC verifies"
            ).error()
        set_index = ctx.credentials.sets.index(chosen)
        transaction_id = es9_tokens.issue_transaction_id(
            ctx.token_key, set_index, int(ctx.clock().timestamp()), ctx.rng
        )
        server_challenge = es9_tokens.server_challenge(ctx.token_key, transaction_id, chosen.ci_pkid)
        server_signed1 = rsp().encode(
            "ServerSigned1",
            {
                "transactionId": transaction_id,
                "euiccChallenge": euicc_challenge,
                "serverAddress": ctx.address,
                "serverChallenge": server_challenge,
            },
        )
        signature = encode_tlv(TAG_SIGNATURE, sign_plain(chosen.key, server_signed1))
        return {
            "transactionId": to_hex(transaction_id),
            "serverSigned1": _b64(server_signed1),
            "serverSignature1": _b64(signature),
            "euiccCiPKIdToBeUsed": _b64(chosen.ci_pkid_tlv),
            "serverCertificate": _b64(chosen.der),
        }

    # -- AuthenticateClient (SGP.22 §5.8.2) -------------------------------------------------------------

    def authenticateClient(self, body: dict[str, Any]) -> dict[str, Any]:
        ctx = self.context
        transaction_id = transaction_id_field(body)
        response = parse_authenticate_server_response(base64_field(body, "authenticateServerResponse"))
        now = ctx.clock()
        issued = es9_tokens.open_transaction_id(ctx.token_key, transaction_id)
        if issued is None or issued.set_index >= len(ctx.credentials.sets):
            raise es9_status.UNKNOWN_TRANSACTION.error()
        issued_at = datetime.fromtimestamp(issued.issued_at, UTC)
        if now >= issued_at + ctx.session_ttl:
            raise es9_status.UNKNOWN_TRANSACTION.error("the session has expired")
        ci_set = ctx.credentials.sets[issued.set_index]
        eid = self._authenticated_eid(transaction_id, response, ci_set.ci_cert, ci_set.ci_pkid, now)
        # One AuthenticateClient per transactionId: a recorded exchange cannot be replayed.
        if not ctx.store.use_transaction(to_hex(transaction_id), issued_at + ctx.session_ttl):
            raise es9_status.UNKNOWN_TRANSACTION.error("this session was authenticated already")
        with ctx.store.transaction() as conn:
            records = ctx.store.for_eid(conn, eid)
        entries = [{"eventId": r.event_id, "rspServerAddress": r.rsp_server_address} for r in records]
        return {"transactionId": to_hex(transaction_id), "eventEntries": entries}

    def _authenticated_eid(
        self,
        transaction_id: bytes,
        response: AuthenticateServerOk | EuiccRefusal,
        ci_cert: Any,
        ci_pkid: bytes,
        now: datetime,
    ) -> str:
        signed_part, euicc = authenticated_euicc(
            response, transaction_id, self.context.token_key, ci_cert, ci_pkid, now
        )
        signed1 = signed_part.value
        if str(signed1["serverAddress"]).lower() != self.context.address.lower():
            raise status.INVALID_SMDS_ADDRESS.error("the eUICC signed another server address")
        kind, ctx_params = signed1["ctxParams1"]
        if kind != "ctxParamsForCommonAuthentication" or ctx_params.get("matchingId"):
            # SGP.22 §5.8.2: event retrieval carries no matchingId (that is an SM-DP+ download).
            raise es9_status.INVALID_INPUT.error(
                "ctxParams1 must be common authentication without matchingId"
            )
        return euicc.eid
