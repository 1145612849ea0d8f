"""What the LPA core needs of an SM-DP+ (ES9+) and an SM-DS (ES11): the calls, not the transport.

lpa/drivers/es9_client.py and es11_client.py provide them over HTTPS; tests may give anything
that answers the same way. The values are openrsp.wire.es9's, shared with the servers.
"""

from __future__ import annotations

from typing import Protocol

from openrsp.lpa.core.errors import Es9Failure
from openrsp.wire.es9 import AuthenticateClientResult, EventEntry, InitiateAuthenticationResult


class Es9Server(Protocol):
    address: str

    def initiate_authentication(
        self, euicc_challenge: bytes, euicc_info1: bytes, smdp_address: str | None = None
    ) -> InitiateAuthenticationResult: ...

    def authenticate_client(
        self, transaction_id: bytes, authenticate_server_response: bytes
    ) -> AuthenticateClientResult: ...

    def get_bound_profile_package(self, transaction_id: bytes, prepare_download_response: bytes) -> bytes: ...

    def handle_notification(self, pending_notification: bytes) -> Es9Failure | None: ...

    def cancel_session(self, transaction_id: bytes, cancel_session_response: bytes) -> None: ...

    def close(self) -> None: ...


class Es11Server(Protocol):
    address: str

    def initiate_authentication(
        self, euicc_challenge: bytes, euicc_info1: bytes, smdp_address: str | None = None
    ) -> InitiateAuthenticationResult: ...

    def retrieve_events(
        self, transaction_id: bytes, authenticate_server_response: bytes
    ) -> list[EventEntry]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Es11Server: ...

    def __exit__(self, *exc: object) -> None: ...
