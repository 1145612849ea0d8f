"""The SGP.22 status codes (subjectCode, reasonCode) the ES9+ functions answer with, by name.

One place for every code, so that a handler says *what* went wrong and this table says how SGP.22
spells it. Sources: SGP.22 v2 §5.6 function tables, as lpac's es9p error table and the SGP.23 test
families (../shared/docs/interop-notes.md) expect them.
"""

from __future__ import annotations

from typing import NamedTuple

from openrsp.rspserver.errors import Es9Error


class StatusCode(NamedTuple):
    subject: str
    reason: str
    message: str

    def error(self, detail: str | None = None) -> Es9Error:
        """The Es9Error to raise; `detail` says what exactly was wrong (goes into the message)."""
        return Es9Error(self.subject, self.reason, f"{self.message}: {detail}" if detail else self.message)


# Malformed requests (SGP.22 §6.5, as openrsp.rspserver.jsonapi reports them): protocol format.
INVALID_INPUT = StatusCode("1.3.1", "2.1", "invalid input")
MISSING_INPUT = StatusCode("1.3.1", "2.2", "mandatory element missing")

# initiateAuthentication
UNKNOWN_SMDP_ADDRESS = StatusCode("8.8.1", "3.8", "invalid SM-DP+ address")
UNSUPPORTED_PKID = StatusCode("8.8.2", "3.1", "none of the proposed CI public key identifiers is supported")
UNSUPPORTED_SVN = StatusCode("8.8.3", "3.1", "the eUICC's specification version is not supported")
NO_DPAUTH_FOR_CI = StatusCode(
    "8.8.4", "3.7", "no CERT.DPauth chains to a CI public key the eUICC can verify with"
)

# authenticateClient
INVALID_EUM_CERT = StatusCode("8.1.2", "6.1", "EUM certificate is invalid")
EXPIRED_EUM_CERT = StatusCode("8.1.2", "6.3", "EUM certificate has expired")
INVALID_EUICC_CERT = StatusCode("8.1.3", "6.1", "eUICC certificate is invalid")
EXPIRED_EUICC_CERT = StatusCode("8.1.3", "6.3", "eUICC certificate has expired")
EID_OUT_OF_RANGE = StatusCode("8.1.4", "6.1", "EID is outside the EUM's permitted range")
INVALID_EUICC_SIGNATURE = StatusCode("8.1", "6.1", "eUICC signature or serverChallenge is invalid")
UNKNOWN_CI_KEY = StatusCode("8.11.1", "3.9", "unknown CI public key")
UNKNOWN_TRANSACTION = StatusCode(
    "8.10.1", "3.9", "the RSP session identified by the transactionId is unknown"
)
PROFILE_NOT_RELEASED = StatusCode("8.2", "1.2", "profile has not yet been released")
MATCHING_ID_REFUSED = StatusCode("8.2.6", "3.8", "matchingId is refused")
EID_MISMATCH = StatusCode("8.1.1", "3.8", "EID does not match the download order")
# default SM-DP+ (no or empty matchingId) and no order for this EID: SGP.22 §5.6.3 names the EID
NO_ORDER_FOR_EID = StatusCode("8.1.1", "3.8", "no download order for this EID")
NO_ELIGIBLE_PROFILE = StatusCode("8.2.5", "4.3", "no eligible profile for this eUICC")
ORDER_EXPIRED = StatusCode("8.8.5", "4.10", "the download order has expired")
ORDER_LOCKED = StatusCode("8.8.5", "6.4", "maximum number of attempts for the download order exceeded")

# getBoundProfilePackage
CC_MISSING = StatusCode("8.2.7", "2.2", "confirmation code is missing")
CC_REFUSED = StatusCode("8.2.7", "3.8", "confirmation code is refused")
CC_TOO_MANY_ATTEMPTS = StatusCode("8.2.7", "6.4", "maximum number of confirmation code attempts exceeded")
BPP_NOT_AVAILABLE = StatusCode("8.2", "3.7", "the bound profile package is not available for a new binding")

# cancelSession
INVALID_SMDP_OID = StatusCode("8.8", "3.10", "the SM-DP+ OID is invalid")

# the eUICC reported an error instead of a signed answer
EUICC_REPORTED_ERROR = StatusCode("8.1", "4.2", "the eUICC reported an error")
