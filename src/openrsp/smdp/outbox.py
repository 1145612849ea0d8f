"""The outbox: calls to other servers that must not be lost (SM-DS event registrations and deletions,
the operator's progress callbacks).

A change that needs a call writes an `outbox` row in its own transaction (`enqueue`, or
`insert_values` for the ES9+ path's direct statements), so the call exists exactly when the change
does. Any live SM-DP+ process delivers due rows (`Outbox.run_once`, run by an `OutboxWorker`
thread in each worker): it claims a row with a conditional UPDATE (so two processes never deliver
the same row at once), calls the deliverer outside any transaction, then records the outcome:

    delivered          state = delivered
    OutboxRetry        state stays pending, next attempt after 1, 2, 4 ... 60 seconds
    OutboxRefused      state = failed: the other side said no, asking again will not help

Deliverers must be idempotent at the receiving end (a process may die between the call and the
record): an SM-DS takes the same registration twice without complaint, and a deletion of an
event that is gone counts as done.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, exists, insert, select, update

from openrsp.errors import OpenRSPError
from openrsp.rspserver.database import reading
from openrsp.rspserver.ids import utcnow
from openrsp.smdp.db.models import OutboxItem

_log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_BACKOFF_SECONDS = 60
LEASE_SECONDS = 30  # a claimed row is not claimed again for this long (its deliverer may be slow)
BATCH = 50

_table = OutboxItem.__table__
INSERT = insert(_table)
_earlier = _table.alias("earlier")
_DUE = (
    select(_table.c.id, _table.c.target)
    .where(
        _table.c.state == PENDING,
        _table.c.next_attempt_at <= bindparam("now"),
        ~exists().where(
            _earlier.c.target == _table.c.target,
            _earlier.c.state == PENDING,
            _earlier.c.id < _table.c.id,
            _earlier.c.next_attempt_at > bindparam("now"),
        ),
    )
    .order_by(_table.c.id)
    .limit(BATCH)
)


class OutboxRetry(OpenRSPError):
    """The call did not get through (the other side is down): try again later."""


class OutboxRefused(OpenRSPError):
    """The other side answered no: record it, do not try again."""


Deliverer = Callable[[str, str, dict[str, Any]], None]  # (kind, target, payload); raises the above


def insert_values(
    kind: str, target: str, payload: dict[str, Any], now: datetime, *, idempotency_key: str | None = None
) -> dict[str, Any]:
    """The column values of a new pending row (for callers that insert with their own statements).
    The idempotency key names this call for good: the receiver may use it to drop a second copy."""
    return {
        "kind": kind,
        "target": target,
        "payload": payload,
        "idempotency_key": idempotency_key or f"{kind}:{os.urandom(12).hex()}",
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "delivered_at": None,
        "last_error": None,
        "created_at": now,
    }


def enqueue(connection: Connection, kind: str, target: str, payload: dict[str, Any], now: datetime) -> int:
    """A new pending call, part of the connection's transaction; its row id."""
    result = connection.execute(INSERT, insert_values(kind, target, payload, now))
    return result.inserted_primary_key[0]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


class Deliverers:
    """One Deliverer per kind prefix ("smds.", "es2."): the outbox's deliverer for every kind.
    A kind with no deliverer here (no TLS credentials for ES12, say) stays pending."""

    def __init__(self, by_prefix: dict[str, Deliverer]) -> None:
        self.by_prefix = dict(by_prefix)

    def __call__(self, kind: str, target: str, payload: dict[str, Any]) -> None:
        for prefix, deliver in self.by_prefix.items():
            if kind.startswith(prefix):
                deliver(kind, target, payload)
                return
        raise OutboxRetry(f"no deliverer for {kind} is configured on this node")


@dataclass(frozen=True)
class Outcome:
    state: str  # delivered, pending (will retry), failed
    error: str | None = None


class Outbox:
    def __init__(self, engine: Engine, deliver: Deliverer, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.deliver = deliver
        self.clock = clock

    def run_once(self) -> int:
        """Deliver what is due; the number of rows attempted. Calls to one target keep their order
        (a registration before its deletion, progress reports as they happened): a target that is
        down is skipped for the rest of the round, and a call waits while an earlier one to its
        target is not due (backing off, or claimed by a node that may have died)."""
        now = self.clock()
        with reading(self.engine) as conn:  # every second on every node: without the write lock
            due = conn.execute(_DUE, {"now": now}).all()
        down: set[str] = set()
        attempted = 0
        for item_id, target in due:
            if target in down:
                continue
            outcome = self.attempt(item_id)
            if outcome is None:
                continue  # another process has it
            attempted += 1
            if outcome.state == PENDING:
                down.add(target)
        return attempted

    def attempt(self, item_id: int) -> Outcome | None:
        """Claim one row and deliver it now; None when it is not due or someone else holds it."""
        item = self._claim(item_id)
        if item is None:
            return None
        try:
            self.deliver(item["kind"], item["target"], dict(item["payload"]))
        except OutboxRefused as exc:
            return self._record(item, Outcome(FAILED, str(exc)))
        except OutboxRetry as exc:
            return self._record(item, Outcome(PENDING, str(exc)))
        except Exception as exc:  # a bug in a deliverer must not stop the others: retry, and say so
            _log.exception("outbox %s %s: unexpected error", item["kind"], item["target"])
            return self._record(item, Outcome(PENDING, f"{type(exc).__name__}: {exc}"))
        return self._record(item, Outcome(DELIVERED))

    def _claim(self, item_id: int) -> dict[str, Any] | None:
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(_table).where(_table.c.id == item_id)).mappings().one_or_none()
            if row is None or row["state"] != PENDING or row["next_attempt_at"] > now:
                return None
            claimed = conn.execute(
                update(_table)
                .where(
                    _table.c.id == item_id,
                    _table.c.state == PENDING,
                    _table.c.next_attempt_at == row["next_attempt_at"],
                )
                .values(attempts=row["attempts"] + 1, next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
            ).rowcount
        if claimed != 1:
            return None
        return {**row, "attempts": row["attempts"] + 1}

    def _record(self, item: dict[str, Any], outcome: Outcome) -> Outcome:
        now = self.clock()
        values: dict[str, Any] = {"state": outcome.state, "last_error": outcome.error}
        if outcome.state == DELIVERED:
            values["delivered_at"] = now
        elif outcome.state == PENDING:
            values["next_attempt_at"] = now + backoff(item["attempts"])
            _log.info("outbox %s to %s: will retry (%s)", item["kind"], item["target"], outcome.error)
        else:
            _log.warning("outbox %s to %s refused: %s", item["kind"], item["target"], outcome.error)
        with self.engine.begin() as conn:
            conn.execute(update(_table).where(_table.c.id == item["id"]).values(**values))
        return outcome

    def items(self, kind_prefix: str = "") -> list[dict[str, Any]]:
        """Every row (oldest first), for the command line and the tests."""
        with reading(self.engine) as conn:
            rows = conn.execute(select(_table).order_by(_table.c.id)).mappings().all()
        return [dict(r) for r in rows if r["kind"].startswith(kind_prefix)]


class OutboxWorker:
    """A thread that runs an Outbox every `interval` seconds until stopped (one per SM-DP+ process)."""

    def __init__(self, outbox: Outbox, interval: float = 1.0) -> None:
        self.outbox = outbox
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="openrsp-outbox", daemon=True)

    def start(self) -> OutboxWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                while self.outbox.run_once() >= BATCH and not self._stop.is_set():
                    pass
            except Exception:  # the database may be briefly away; the next round tries again
                _log.exception("outbox round failed")
