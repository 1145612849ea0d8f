"""The SM-DP+'s database as every storage module sees it: the engine, the sealer (the KEK that
seals packages and Ki/OPc at rest) and the clock. The storage modules (es9/store.py, and the
per-concern modules db/operators.py, db/profiles.py, db/orders.py, db/events.py that ES2+, the
command line and the benchmark use) take this or a Connection of its `transaction()`, not each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from openrsp.rspserver.ids import utcnow
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp import prepared_package
from openrsp.smdp.db.transactions import begin


@dataclass
class SmdpDatabase:
    engine: Engine
    sealer: Sealer
    clock: Callable[[], datetime] = utcnow

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction (db/transactions.py: the SQLite writer's turn, BEGIN IMMEDIATE), committed
        when the block ends, rolled back when it raises. Not re-entrant: open one at a time."""
        with begin(self.engine) as cursor:
            yield cursor.connection

    def open_prepared(self, iccid: str, sealed: bytes) -> prepared_package.PreparedPackage:
        """A sealed package opened: the SAIP DER, with the protection prepared at import (when it was)."""
        return prepared_package.open_sealed(self.sealer, iccid, sealed)
