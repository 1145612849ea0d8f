"""The SM-DS's event records (SGP.22 §3.6: EID, eventId, RSP server address), in SQLite or PostgreSQL.

One table of events and one of transactionIds already used by an ES11 AuthenticateClient (so a
recorded exchange cannot be replayed within the session lifetime). SQLAlchemy Core over the
engines the SM-DP+ uses (openrsp.rspserver.database: WAL + BEGIN IMMEDIATE on SQLite, psycopg 3 on
PostgreSQL). The schema is created at start-up by `openrsp smds serve` before any worker runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from openrsp.rspserver.database import UtcDateTime, make_engine
from openrsp.rspserver.ids import utcnow

metadata = MetaData()

events = Table(
    "smds_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("eid", String(32), nullable=False, index=True),
    Column("event_id", String(255), nullable=False),
    Column("rsp_server_address", String(255), nullable=False),
    Column("registrar", String(255), nullable=False),  # who registered it (TLS client certificate)
    Column("forwarded", String(255)),  # the root SM-DS it was forwarded to (ES15), if any
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("eid", "event_id", "rsp_server_address", name="uq_smds_event"),
)

used_transactions = Table(
    "smds_used_transactions",
    metadata,
    Column("transaction_id", String(32), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)


@dataclass(frozen=True)
class EventRecord:
    id: int
    eid: str
    event_id: str
    rsp_server_address: str
    registrar: str
    forwarded: str | None
    created_at: datetime


class EventConflict(Exception):
    """Another record with this EID and eventId (from another SM-DP+) exists."""


class EventStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def open(cls, db_url: str, *, create: bool = True) -> EventStore:
        engine = make_engine(db_url)
        if create:
            metadata.create_all(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    # -- events ----------------------------------------------------------------------------------

    def find(self, conn: Connection, eid: str, event_id: str) -> list[EventRecord]:
        rows = conn.execute(select(events).where(and_(events.c.eid == eid, events.c.event_id == event_id)))
        return [EventRecord(**row._mapping) for row in rows]

    def add(
        self, conn: Connection, eid: str, event_id: str, address: str, registrar: str, forwarded: str | None
    ) -> None:
        conn.execute(
            insert(events).values(
                eid=eid,
                event_id=event_id,
                rsp_server_address=address,
                registrar=registrar,
                forwarded=forwarded,
                created_at=self.clock(),
            )
        )

    def remove(self, conn: Connection, record_ids: list[int]) -> int:
        if not record_ids:
            return 0
        return conn.execute(delete(events).where(events.c.id.in_(record_ids))).rowcount

    def for_eid(self, conn: Connection, eid: str) -> list[EventRecord]:
        rows = conn.execute(select(events).where(events.c.eid == eid).order_by(events.c.id))
        return [EventRecord(**row._mapping) for row in rows]

    def all(self) -> list[EventRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(events).order_by(events.c.id))
            return [EventRecord(**row._mapping) for row in rows]

    def remove_by_event_id(self, event_ids: list[str]) -> list[EventRecord]:
        """The operator's `smds events remove`: every record with one of these eventIds."""
        with self.transaction() as conn:
            rows = [
                EventRecord(**r._mapping)
                for r in conn.execute(select(events).where(events.c.event_id.in_(event_ids)))
            ]
            self.remove(conn, [r.id for r in rows])
        return rows

    # -- ES11 transactionIds -----------------------------------------------------------------------

    def use_transaction(self, transaction_id: str, expires_at: datetime) -> bool:
        """Mark a transactionId used; False when it was used before (a replay)."""
        now = self.clock()
        try:
            with self.transaction() as conn:
                if transaction_id[:1] in "0123":  # now and then, drop the expired ones
                    conn.execute(delete(used_transactions).where(used_transactions.c.expires_at < now))
                conn.execute(
                    insert(used_transactions).values(transaction_id=transaction_id, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True
