"""Typed errors of the SM-DP+.

ES2+ and ES9+ failures carry the SGP.22 subjectCode/reasonCode pair (SGP.22 §5.1.6.4 lists the
codes); the HTTP layer turns them into `header.functionExecutionStatus` with status "Failed".
"""

from __future__ import annotations

from openrsp.rspserver.errors import ConfigError, Es9Error, RspServerError, RspStatusError

__all__ = [
    "ConfigError",
    "Es2Error",
    "Es9Error",
    "InvalidTransition",
    "IntegrityConflict",
    "InventoryError",
    "RspStatusError",
    "SmdpError",
    "StateConflict",
]


# The SM-DP+'s base error is the RSP servers' one: `except SmdpError` also catches ConfigError and
# the function failures (RspStatusError, Es9Error) defined with the other server role's.
SmdpError = RspServerError


class InventoryError(SmdpError):
    """A profile cannot be added to or found in the inventory (duplicate ICCID, bad package…)."""


class InvalidTransition(SmdpError):
    """The state table has no row for this (state, event) pair."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"profile in state {state} cannot take event {event}")
        self.state = state
        self.event = event


class StateConflict(SmdpError):
    """Someone else changed the profile between our read and our conditional update."""

    def __init__(self, iccid: str, expected: str) -> None:
        super().__init__(f"profile {iccid} is no longer in state {expected} (changed concurrently)")
        self.iccid = iccid
        self.expected = expected


class Es2Error(RspStatusError):
    """An ES2+ function failed; reported to the operator as a Failed status."""


class IntegrityConflict(SmdpError):
    """A statement broke a uniqueness or reference rule (e.g. two callers inserting one key)."""
