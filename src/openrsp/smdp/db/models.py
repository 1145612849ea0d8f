"""The SM-DP+ tables (SQLAlchemy 2 ORM). The schema itself is created by the Alembic migrations.

Secrets are never stored in clear: `profile_packages.package` and `profiles.secrets` hold AES-GCM sealed
blobs (see openrsp.rspserver.sealing); `orders.cc_hash` holds SHA-256 of the confirmation code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from openrsp.rspserver.database import UtcDateTime

JsonDict = MutableDict.as_mutable(JSON().with_variant(JSONB(), "postgresql"))


class Base(DeclarativeBase):
    pass


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # The subject CN of the operator's TLS client certificate, when it differs from `name`.
    cert_cn: Mapped[str | None] = mapped_column(String(256), unique=True)
    # Full URL of the operator's ES2+ handleDownloadProgressInfo endpoint.
    callback_url: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (Index("ix_profiles_pick", "operator_id", "profile_type", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iccid: Mapped[str] = mapped_column(String(20), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    profile_type: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), index=True)
    secrets: Mapped[bytes] = mapped_column(LargeBinary)  # sealed JSON: AKA algorithm, Ki, OPc
    imsi: Mapped[str | None] = mapped_column(String(16))
    msisdn: Mapped[str | None] = mapped_column(String(32))
    # StoreMetadata (SGP.22 BF25) fields shown to the user before download.
    spn: Mapped[str | None] = mapped_column(String(64))
    profile_name: Mapped[str | None] = mapped_column(String(64))
    profile_class: Mapped[str] = mapped_column(String(16), default="operational")
    icon_type: Mapped[str | None] = mapped_column(String(8))
    icon: Mapped[bytes | None] = mapped_column(LargeBinary)
    extra: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    operator: Mapped[Operator] = relationship(lazy="joined")
    order: Mapped[Order | None] = relationship(
        back_populates="profile", uselist=False, cascade="all, delete-orphan", lazy="joined"
    )
    # The sealed package lives in its own table, read only when asked for (`profile.package`).
    package_row: Mapped[ProfilePackage] = relationship(
        uselist=False, cascade="all, delete-orphan", lazy="select", passive_deletes=True
    )
    package: AssociationProxy[bytes] = association_proxy(
        "package_row", "package", creator=lambda package: ProfilePackage(package=package)
    )


class ProfilePackage(Base):
    """A profile's sealed package (prepared_package record, AES-GCM under the KEK), kept apart from
    the profile row so that state changes do not rewrite it (migration package_table)."""

    __tablename__ = "profile_packages"

    iccid: Mapped[str] = mapped_column(ForeignKey("profiles.iccid", ondelete="CASCADE"), primary_key=True)
    package: Mapped[bytes] = mapped_column(LargeBinary)


class Order(Base):
    """The download order (binding) of one profile, while it has one."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), unique=True)
    eid: Mapped[str | None] = mapped_column(String(32), index=True)
    matching_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # NULL: none / empty
    cc_hash: Mapped[bytes | None] = mapped_column(LargeBinary)  # SHA-256(confirmation code)
    cc_attempts: Mapped[int] = mapped_column(Integer, default=0)
    cc_max_attempts: Mapped[int] = mapped_column(Integer)
    download_attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_download_attempts: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    release_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    smds_address: Mapped[str | None] = mapped_column(String(255))
    # The one-time key binding of the last package delivered for this order, kept for a retry
    # (SGP.22 §3.1.3): {eid, euicc_otpk, secret (sealed otSK.DP + PPK)}; None when there is none.
    retry_binding: Mapped[dict[str, Any] | None] = mapped_column(JsonDict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    profile: Mapped[Profile] = relationship(back_populates="order")


class RspSession(Base):
    """One ES9+ RSP session, keyed by its transactionId (uppercase hex)."""

    __tablename__ = "rsp_sessions"

    transaction_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    iccid: Mapped[str | None] = mapped_column(ForeignKey("profiles.iccid"), index=True)
    eid: Mapped[str | None] = mapped_column(String(32))  # looked up with the ICCID only
    state: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The ES9+ handlers' own fields (challenges, otPK, certificates…), JSON-serialisable.
    data: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Notification(Base):
    """A notification an LPA delivered with ES9+ handleNotification."""

    __tablename__ = "notifications"
    # One row per notification: an eUICC numbers its notifications (seqNumber), a replay is not stored.
    __table_args__ = (Index("ux_notifications_eid_seq", "eid", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int | None] = mapped_column(Integer)
    eid: Mapped[str | None] = mapped_column(String(32))  # ux_notifications_eid_seq leads with it
    iccid: Mapped[str | None] = mapped_column(String(20), index=True)
    event: Mapped[str] = mapped_column(String(32))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    result: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EventLog(Base):
    """Every state change and progress report, in order: the SM-DP+'s audit trail."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    event: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxItem(Base):
    """A call to another server that must happen even if this process dies first (openrsp.smdp.outbox).

    Written in the same transaction as the change that needs it; delivered, with retries, by any
    live SM-DP+ process.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. smds.registerEvent
    target: Mapped[str] = mapped_column(String(1024))  # whom to call (an SM-DS address, a URL)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
