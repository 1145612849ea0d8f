"""What the ES9+ core sees of the database: plain rows (the attribute names of the ORM models), the
snapshots a call reads before it decides, and the storage interface around the core (es9/store.py
implements it on SQLAlchemy Core).

Nothing here does I/O, and the core imports nothing else from the storage: the storage reads a
snapshot, the core decides (es9/decisions/), the storage applies the effects (es9/effects.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from openrsp.hexutil import to_hex

if TYPE_CHECKING:
    from openrsp.smdp.es9.effects import Applied, Effect


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


# -- snapshots: what one call reads, in one statement when it can ------------------------------------


@dataclass
class OrderSnapshot:
    """authenticateClient: the profiles (locked, with their orders) the eUICC may ask for, by
    matchingId or, without one, every profile ordered for its EID; and, when the chosen order was
    delivered already (a retry), the sessions that bound it to this eUICC, newest first."""

    profiles: list[ProfileView]
    bound_sessions: list[SessionRow] = field(default_factory=list)


@dataclass
class SessionSnapshot:
    """getBoundProfilePackage, handleNotification, cancelSession: the RSP session (locked) and the
    profile it names (locked, with its order; with its sealed package for getBoundProfilePackage);
    for getBoundProfilePackage of a retry, the session it supersedes."""

    session: SessionRow | None
    profile: ProfileView | None
    previous: SessionRow | None = None


class Es9Tx(Protocol):
    """One database transaction of an ES9+ call: the snapshot reads, then the effects applied."""

    def session(self, transaction_id: str) -> SessionRow | None: ...
    def session_with_profile(
        self, transaction_id: str, *, with_package: bool = False
    ) -> tuple[SessionRow | None, ProfileView | None]: ...
    def profiles_for(self, *, matching_id: str | None, eid: str) -> list[ProfileView]: ...
    def bound_sessions(self, iccid: str, eid: str) -> list[SessionRow]: ...
    def apply(self, effects: Sequence[Effect]) -> Applied: ...


class Es9Storage(Protocol):
    """Transactions: committed at the end of the block, rolled back when it raises; a conflict is
    StateConflict or IntegrityConflict."""

    def transaction(self) -> AbstractContextManager[Es9Tx]: ...


_Row = TypeVar("_Row", OrderView, ProfileView, SessionRow)


def copied(row: _Row) -> _Row:
    """A shallow copy of a row: what dataclasses.replace(row) gives (the rows have no __post_init__
    and no slots), without its per-field keyword call, which a download pays about 17 times."""
    clone = object.__new__(type(row))
    clone.__dict__.update(row.__dict__)
    return clone


def tid(transaction_id: str | bytes) -> str:
    """transactionId as the session table keys it: uppercase hex."""
    return to_hex(transaction_id) if isinstance(transaction_id, bytes) else transaction_id.upper()
