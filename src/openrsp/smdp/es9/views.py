"""What the ES9+ service sees of the database: plain rows (the attribute names of the ORM models),
and the storage interface it works through (es9/store.py implements it on SQLAlchemy Core).

Nothing here does I/O, and the service imports nothing else from the storage: it runs on any
Es9Storage, and its module imports neither SQLAlchemy nor the HTTP layer.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from openrsp.hexutil import to_hex
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.prepared_package import PreparedPackage
from openrsp.smdp.states import Event, State


@dataclass
class OrderView:
    id: int
    eid: str | None
    matching_id: str | None
    cc_hash: bytes | None
    cc_attempts: int
    cc_max_attempts: int
    download_attempts: int
    max_download_attempts: int
    expires_at: datetime | None
    release_flag: bool
    smds_address: str | None
    retry_binding: dict[str, Any] | None


@dataclass
class ProfileView:
    id: int
    iccid: str
    state: str
    profile_type: str
    operator_name: str
    callback_url: str | None
    spn: str | None
    profile_name: str | None
    profile_class: str
    icon_type: str | None
    icon: bytes | None
    extra: dict[str, Any]
    order: OrderView | None
    package: bytes | None = None  # the sealed package, when asked for


@dataclass
class SessionRow:
    transaction_id: str
    state: str
    eid: str | None
    iccid: str | None
    expires_at: datetime | None
    data: dict[str, Any]
    updated_at: datetime
    stored: bool = True  # False for a session authenticateClient is about to write first


class Es9Tx(Protocol):
    """One database transaction of an ES9+ call: the reads and writes the service needs."""

    def get_session(self, transaction_id: str) -> SessionRow | None: ...
    def save_session(self, row: SessionRow) -> None: ...
    def bound_sessions(self, iccid: str, eid: str, state: str) -> list[SessionRow]: ...
    def purge_expired_sessions(self) -> int: ...
    def profile_by_iccid(self, iccid: str, *, with_package: bool = False) -> ProfileView | None: ...
    def profile_by_matching_id(self, matching_id: str) -> ProfileView | None: ...
    def profiles_ordered_for_eid(self, eid: str) -> list[ProfileView]: ...
    def save_order(self, order: OrderView, **values: Any) -> None: ...
    def transition(
        self,
        profile: ProfileView,
        event_: Event,
        *,
        detail: dict[str, Any] | None = None,
        progress: ProgressPoint | Literal[False] | None = None,
    ) -> State: ...
    def report_progress(self, profile: ProfileView, point: ProgressPoint, *, event_: str) -> None: ...
    def record_notification(
        self,
        *,
        event_: str,
        raw: bytes,
        seq: int | None = None,
        eid: str | None = None,
        iccid: str | None = None,
        result: str | None = None,
    ) -> bool: ...


class Es9Storage(Protocol):
    """Transactions (committed at the end of the block, rolled back when it raises; a conflict is
    StateConflict or IntegrityConflict) and the sealed package opened."""

    def transaction(self) -> AbstractContextManager[Es9Tx]: ...
    def open_package(self, profile: ProfileView) -> PreparedPackage: ...


def tid(transaction_id: str | bytes) -> str:
    """transactionId as the session table keys it: uppercase hex."""
    return to_hex(transaction_id) if isinstance(transaction_id, bytes) else transaction_id.upper()
