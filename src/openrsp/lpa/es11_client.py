"""ES11 (LPA -> SM-DS) over HTTPS: SGP.22 §5.8 with the JSON binding of §6.5, beside ES9+.

InitiateAuthentication is ES9+'s with the SM-DS address in `smdsAddress`; AuthenticateClient
answers the event list (`eventEntries`: eventId and rspServerAddress each) instead of a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrsp.hexutil import to_hex
from openrsp.lpa.errors import Es9ProtocolError, LpaError
from openrsp.lpa.es9_client import (
    Es9Client,
    InitiateAuthenticationResult,
    _tlv_field,
    _transaction_id,
    b64,
)

ES11_PATH = "/gsma/rsp2/es11/"
MAX_EVENTS = 1000  # an SM-DS that answers more is not worth listening to
MAX_FIELD = 255


@dataclass(frozen=True)
class EventEntry:
    event_id: str
    rsp_server_address: str


class Es11Client(Es9Client):
    """InitiateAuthentication and AuthenticateClient against one SM-DS address (host or host:port)."""

    path = ES11_PATH

    def _post(self, function: str, payload: dict[str, Any], *, answer: bool = True) -> dict[str, Any]:
        """As ES9+, with failures that name the SM-DS, and lpac's step names for discovery."""
        try:
            return super()._post(function, payload, answer=answer)
        except LpaError as exc:
            if function == "authenticateClient":
                exc.step = "es11_authenticate_client"
            exc.args = (str(exc).replace("SM-DP+", "SM-DS", 1),)
            raise

    def initiate_authentication(
        self, euicc_challenge: bytes, euicc_info1: bytes, smdp_address: str | None = None
    ) -> InitiateAuthenticationResult:
        function = "initiateAuthentication"
        body = self._post(
            function,
            {
                "euiccChallenge": b64(euicc_challenge),
                "euiccInfo1": b64(euicc_info1),
                "smdsAddress": smdp_address or self.address,
            },
        )
        return InitiateAuthenticationResult(
            transaction_id=_transaction_id(function, body),
            server_signed1=_tlv_field(function, body, "serverSigned1", 0x30),
            server_signature1=_tlv_field(function, body, "serverSignature1", 0x5F37),
            euicc_ci_pkid_to_be_used=_tlv_field(function, body, "euiccCiPKIdToBeUsed", 0x04),
            server_certificate=_tlv_field(function, body, "serverCertificate", 0x30),
        )

    def retrieve_events(self, transaction_id: bytes, authenticate_server_response: bytes) -> list[EventEntry]:
        """ES11 AuthenticateClient: the events waiting for this eUICC."""
        function = "authenticateClient"
        body = self._post(
            function,
            {
                "transactionId": to_hex(transaction_id),
                "authenticateServerResponse": b64(authenticate_server_response),
            },
        )
        _transaction_id(function, body, transaction_id)
        return _event_entries(function, body)


def _event_entries(function: str, body: dict[str, Any]) -> list[EventEntry]:
    entries = body.get("eventEntries", [])
    if not isinstance(entries, list) or len(entries) > MAX_EVENTS:
        raise Es9ProtocolError(function, "eventEntries must be a list (of at most 1000 events)")
    events = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise Es9ProtocolError(function, "an eventEntries item is not an object")
        event_id, address = entry.get("eventId"), entry.get("rspServerAddress")
        if not isinstance(event_id, str) or not isinstance(address, str):
            raise Es9ProtocolError(function, "an event lacks eventId or rspServerAddress")
        if not 0 < len(event_id) <= MAX_FIELD or not 0 < len(address) <= MAX_FIELD:
            raise Es9ProtocolError(function, "eventId and rspServerAddress must be 1 to 255 characters")
        events.append(EventEntry(event_id, address))
    return events
