"""What a case sees: the server, the card, the DUT's capabilities; after the run, what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openrsp.lab.card import LabCard
from openrsp.lab.exchange import Exchange
from openrsp.lab.faults import Fault
from openrsp.lab.model import StepOutcome
from openrsp.lab.server import LabServer


@dataclass
class CaseContext:
    server: LabServer
    card: LabCard
    capabilities: frozenset[str]
    ts48: Path | None = None
    slow_seconds: float = 2.0
    fault: Fault | None = None  # set by prepare(): the server's misbehaviour for this case
    # filled in by the runner once the DUT is done
    outcomes: list[StepOutcome] = field(default_factory=list)
    exchange: list[Exchange] = field(default_factory=list)
    before: dict[str, Any] | None = None
    during: list[dict[str, Any] | None] = field(default_factory=list)  # the card after each step
    after: dict[str, Any] | None = None

    # --- what the judges ask ------------------------------------------------------------------
    def calls(self, function: str | None = None, listener: str = "main") -> list[Exchange]:
        return [
            e
            for e in self.exchange
            if e.listener == listener and (function is None or e.function == function)
        ]

    def functions(self, listener: str = "main") -> list[str]:
        return [e.function for e in self.calls(listener=listener)]

    def new_profiles(self) -> list[str] | None:
        """ICCIDs on the card after the case that were not there before (None: card not observed)."""
        if self.before is None or self.after is None:
            return None
        had = {p["iccid"] for p in self.before["profiles"]}
        return [p["iccid"] for p in self.after["profiles"] if p["iccid"] not in had]

    def state_after_step(self, index: int, iccid: str) -> str | None:
        """ "enabled", "disabled", "absent" after step `index` (None: card not observed, or no such step)."""
        if index >= len(self.during) or self.during[index] is None:
            return None
        snapshot = self.during[index]
        assert snapshot is not None
        return next((p["state"] for p in snapshot["profiles"] if p["iccid"] == iccid), "absent")

    def pending_for(self, iccid: str) -> list[dict[str, Any]] | None:
        if self.after is None:
            return None
        return [n for n in self.after["notifications"] if n["iccid"] == iccid]
