"""The SM-DP+'s inventory rows as plain values: what the storage modules (smdp/db/) read and what
the ES2+ core (es2/core.py) decides on. Nothing here does I/O or imports SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_PROFILE_TYPE = "default"


@dataclass(frozen=True)
class OrderRow:
    """The download order (binding) of one profile (table `orders`)."""

    id: int
    profile_id: int
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
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProfileRow:
    """One profile (table `profiles`, without its sealed package), with its operator and order."""

    id: int
    iccid: str
    operator_id: int
    profile_type: str
    state: str
    secrets: bytes
    imsi: str | None
    msisdn: str | None
    spn: str | None
    profile_name: str | None
    profile_class: str
    icon_type: str | None
    icon: bytes | None
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    operator_name: str
    callback_url: str | None
    order: OrderRow | None


@dataclass
class NewProfile:
    """A profile to add to the inventory; `package` is the SAIP DER, sealed before it is stored."""

    iccid: str
    package: bytes
    profile_type: str = DEFAULT_PROFILE_TYPE
    imsi: str | None = None
    msisdn: str | None = None
    ki: bytes | None = None
    opc: bytes | None = None
    aka_algorithm: str | None = None
    spn: str | None = None
    profile_name: str | None = None
    profile_class: str = "operational"
    icon_type: str | None = None
    icon: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileSecrets:
    algorithm: str | None
    ki: bytes | None
    opc: bytes | None
