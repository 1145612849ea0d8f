"""Typed errors of the SM-DP+.

ES2+ and ES9+ failures carry the SGP.22 subjectCode/reasonCode pair (SGP.22 §5.1.6.4 lists the
codes); the HTTP layer turns them into `header.functionExecutionStatus` with status "Failed".
"""

from __future__ import annotations

from typing import Any

from openrsp.errors import OpenRSPError


class SmdpError(OpenRSPError):
    """Base of every error the SM-DP+ raises on purpose."""


class ConfigError(SmdpError):
    """The SM-DP+ configuration (TOML, options, credentials folder) is unusable."""


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


class RspStatusError(SmdpError):
    """A function failure with its SGP.22 subject and reason codes."""

    def __init__(
        self,
        subject_code: str,
        reason_code: str,
        message: str = "",
        subject_identifier: str | None = None,
    ) -> None:
        super().__init__(
            f"{subject_code}/{reason_code}: {message}" if message else f"{subject_code}/{reason_code}"
        )
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.message = message
        self.subject_identifier = subject_identifier

    def status_code_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"subjectCode": self.subject_code, "reasonCode": self.reason_code}
        if self.subject_identifier:
            data["subjectIdentifier"] = self.subject_identifier
        if self.message:
            data["message"] = self.message
        return data


class Es9Error(RspStatusError):
    """An ES9+ function failed; raised by openrsp.smdp.es9plus, reported as a Failed status."""


class Es2Error(RspStatusError):
    """An ES2+ function failed; reported to the operator as a Failed status."""
