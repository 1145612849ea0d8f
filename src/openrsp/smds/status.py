"""The SGP.22 status codes of the SM-DS functions (ES11, ES12, ES15), by name.

ES11 fails exactly as ES9+ does up to authenticateClient (SGP.22 §5.8: the same checks of the
eUICC), so those codes are the SM-DP+'s (openrsp.rspserver.status); the address check names the
SM-DS. ES12/ES15 (§5.9, §5.10) have their own: the event record, the SM-DS being reachable.
"""

from __future__ import annotations

from typing import NamedTuple

from openrsp.rspserver.errors import RspStatusError
from openrsp.status_codes import FUNCTION_REQUESTER, PROTOCOL_FORMAT


class SmdsError(RspStatusError):
    """An SM-DS function failed; answered as a Failed functionExecutionStatus."""


class Code(NamedTuple):
    subject: str
    reason: str
    message: str

    def error(self, detail: str | None = None) -> SmdsError:
        return SmdsError(self.subject, self.reason, f"{self.message}: {detail}" if detail else self.message)


INVALID_INPUT = Code(PROTOCOL_FORMAT, "2.1", "invalid input")
MISSING_INPUT = Code(PROTOCOL_FORMAT, "2.2", "mandatory element missing")

# who may call (TLS client certificates)
NO_CLIENT_CERTIFICATE = Code(FUNCTION_REQUESTER, "1.1", "a TLS client certificate is required")
NOT_ALLOWED = Code(FUNCTION_REQUESTER, "1.2", "this client is not allowed to call this function")

# ES11 initiateAuthentication
INVALID_SMDS_ADDRESS = Code("8.8.1", "3.8", "invalid SM-DS address")

# ES12 / ES15
INVALID_EID = Code("8.1.1", "2.1", "EID is invalid")
EVENT_IN_USE = Code("8.9.5", "3.3", "an event record with this EID and eventId exists for another server")
EVENT_UNKNOWN = Code("8.9.5", "3.9", "no such event record")
ROOT_INACCESSIBLE = Code("8.9", "5.1", "the root SM-DS is inaccessible")
ROOT_REFUSED = Code("8.9", "4.2", "the root SM-DS refused the forwarded request")
