"""The eUICC behind an AuthenticateServerResponse, as both servers check it (SM-DP+ ES9+
authenticateClient, SM-DS ES11 AuthenticateClient): its refusal reported, the transactionId it
signed, its certificate chain up to the CI, euiccSignature1, and the serverChallenge this server's
transactionId commits to (rspserver/tokens.py). What each server checks beyond that (the SM-DS's
address and ctxParams1) stays with it."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from openrsp.asn1.rsp_types import AuthenticateErrorCode, code_name
from openrsp.rspserver import status, tokens
from openrsp.rspserver.messages import AuthenticateServerOk, EuiccRefusal, SignedPart
from openrsp.rspserver.verify import AuthenticatedEuicc, verify_euicc_chain, verify_signature


def authenticated_euicc(
    response: AuthenticateServerOk | EuiccRefusal,
    transaction_id: bytes,
    token_key: bytes,
    ci_cert: Any,
    ci_pkid: bytes,
    now: datetime,
) -> tuple[SignedPart, AuthenticatedEuicc]:
    """euiccSigned1 and the verified eUICC; an Es9Error with the SGP.22 code otherwise."""
    if isinstance(response, EuiccRefusal):
        reason = code_name(AuthenticateErrorCode, response.code)
        raise status.EUICC_REPORTED_ERROR.error(f"AuthenticateServer failed: {reason}")
    signed1 = response.signed1.value
    if signed1["transactionId"] != transaction_id:
        raise status.UNKNOWN_TRANSACTION.error("euiccSigned1 names another transactionId")
    euicc = verify_euicc_chain(response.euicc_certificate, response.eum_certificate, ci_cert, ci_pkid, now)
    verify_signature(euicc.public_key, response.signed1.raw, response.signed1.signature, "euiccSignature1")
    expected = tokens.server_challenge(token_key, transaction_id, ci_pkid)
    if not hmac.compare_digest(signed1["serverChallenge"], expected):
        raise status.INVALID_EUICC_SIGNATURE.error("serverChallenge does not match this session's")
    return response.signed1, euicc
