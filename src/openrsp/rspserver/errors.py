"""Errors both server roles (SM-DP+, SM-DS) raise: configuration, and function failures that carry
the SGP.22 subjectCode/reasonCode pair (SGP.22 §5.1.6.4); the HTTP layers turn those into
`header.functionExecutionStatus` with status "Failed"."""

from __future__ import annotations

from typing import Any

from openrsp.errors import OpenRSPError


class RspServerError(OpenRSPError):
    """Base of every error an RSP server (SM-DP+, SM-DS) raises on purpose."""


class ConfigError(RspServerError):
    """A server's configuration (TOML, options, credentials folder) is unusable."""


class RspStatusError(RspServerError):
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
    """An ES9+ function failed; reported as a Failed status (ES11 shares its codes)."""
