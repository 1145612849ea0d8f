"""ES11 (LPA -> SM-DS) over HTTPS: SGP.22 §5.8 with the JSON binding of §6.5, beside ES9+.

InitiateAuthentication is ES9+'s with the SM-DS address in `smdsAddress`; AuthenticateClient
answers the event list (`eventEntries`: eventId and rspServerAddress each) instead of a profile.
"""

from __future__ import annotations

from typing import Any

from openrsp.lpa.core.errors import LpaError
from openrsp.lpa.drivers.es9_client import Es9Client, _decoded
from openrsp.wire import es9 as wire
from openrsp.wire.es9 import EventEntry, InitiateAuthenticationResult

ES11_PATH = "/gsma/rsp2/es11/"


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
        request = wire.initiate_authentication_request(
            euicc_challenge, euicc_info1, smdp_address or self.address, es11=True
        )
        return _decoded(function, wire.decode_initiate_authentication, self._post(function, request))

    def retrieve_events(self, transaction_id: bytes, authenticate_server_response: bytes) -> list[EventEntry]:
        """ES11 AuthenticateClient: the events waiting for this eUICC."""
        function = "authenticateClient"
        body = self._post(
            function, wire.authenticate_client_request(transaction_id, authenticate_server_response)
        )
        return _decoded(function, wire.decode_event_entries, body, transaction_id)
