"""The SM-DP+'s database as every storage module sees it: the engine, the sealer (the KEK that
seals packages and Ki/OPc at rest) and the clock. The storage modules (es9/store.py, and the
per-concern modules ES2+, the command line and the benchmark use) take this, not each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from openrsp.rspserver.ids import utcnow
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp import prepared_package


@dataclass
class SmdpDatabase:
    engine: Engine
    sealer: Sealer
    clock: Callable[[], datetime] = utcnow

    def open_prepared(self, iccid: str, sealed: bytes) -> prepared_package.PreparedPackage:
        """A sealed package opened: the SAIP DER, with the protection prepared at import (when it was)."""
        return prepared_package.open_sealed(self.sealer, iccid, sealed)
