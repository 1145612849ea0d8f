"""Typed failures of the LPA, each able to say which step failed and with which SGP.22 code.

`step` is the lpac-style name of the failing call (es10b_prepare_download, es9p_authenticate_client,
...): lpac users read it in the JSON `message` field. `details()` gives the machine-readable codes.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.errors import InputError, OpenRSPError
from openrsp.lpa.core.install_reasons import part_meaning, reason_meaning
from openrsp.status_codes import describe


class LpaError(OpenRSPError):
    """Base of every error the LPA raises on purpose."""

    step = "lpa"

    def details(self) -> dict[str, Any]:
        return {}


class LpaInputError(LpaError, InputError):
    """The user gave something the LPA cannot use (activation code, ICCID, IMEI, address...)."""

    def __init__(self, message: str, step: str = "input") -> None:
        super().__init__(message)
        self.step = step


class Es10Error(LpaError):
    """The eUICC answered an ES10 function with a result code other than ok."""

    def __init__(self, function: str, code: int, name: str, *, step: str | None = None) -> None:
        self.function = function
        self.code = code
        self.name = name
        self.step = step or f"es10_{function}"
        super().__init__(f"{function} refused by the eUICC: {name} ({code})")

    def details(self) -> dict[str, Any]:
        return {"function": self.function, "resultCode": self.code, "result": self.name}


class Es10FormatError(LpaError):
    """The eUICC's answer does not decode as the ES10 response it should be."""

    step = "es10"


class Es9Failure(LpaError):
    """The SM-DP+ answered an ES9+ function with status Failed (subjectCode / reasonCode)."""

    def __init__(self, function: str, subject_code: str, reason_code: str, message: str = "") -> None:
        self.function = function
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.message = message
        self.step = f"es9p_{_snake(function)}"
        words = describe(subject_code, reason_code)
        tail = f": {message}" if message else ""
        super().__init__(f"SM-DP+ refused {function}: {subject_code}/{reason_code} {words}{tail}")

    def details(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "subjectCode": self.subject_code,
            "reasonCode": self.reason_code,
            "message": self.message,
        }


class SmdpUnreachable(LpaError):
    """No answer from the SM-DP+: name, connection, TLS or timeout (the request may not have arrived)."""

    def __init__(self, function: str, address: str, reason: str, *, timeout: bool = False) -> None:
        self.function = function
        self.address = address
        self.reason = reason
        self.timeout = timeout
        self.step = f"es9p_{_snake(function)}"
        super().__init__(f"SM-DP+ {address} unreachable during {function}: {reason}")

    def details(self) -> dict[str, Any]:
        return {"function": self.function, "address": self.address, "reason": self.reason}


class SmdpTlsError(SmdpUnreachable):
    """The SM-DP+'s TLS certificate does not verify against the configured CI certificates."""


class Es9ProtocolError(LpaError):
    """The SM-DP+ answered, but not with a well-formed ES9+ response."""

    def __init__(self, function: str, message: str) -> None:
        self.function = function
        self.step = f"es9p_{_snake(function)}"
        super().__init__(f"SM-DP+ answer to {function} is malformed: {message}")


class DownloadCancelled(LpaError):
    """The user said no (consent, confirmation code) or interrupted the download."""

    step = "cancelled"

    def __init__(self, message: str, reason: int = CancelSessionReason.endUserRejection) -> None:
        super().__init__(message)
        self.reason = reason  # the CancelSession reason this refusal calls for


class ProfileInstallFailed(LpaError):
    """The eUICC refused the bound profile package (ProfileInstallationResult errorResult).

    The message says which part failed and why in SGP.22's words, then the eUICC's own reason when
    it gave one (`euicc_message`, from the errorResult's simaResponse).
    """

    step = "es10b_load_bound_profile_package"

    def __init__(
        self,
        command: str,
        reason: str,
        reason_code: int,
        *,
        notification: Any = None,
        euicc_message: str | None = None,
    ) -> None:
        self.command = command
        self.reason = reason
        self.reason_code = reason_code
        self.notification = notification  # how delivering the failure result to the SM-DP+ went
        self.euicc_message = euicc_message
        self.meaning = reason_meaning(reason)
        part = part_meaning(command)
        text = f"the eUICC refused the profile at {command}: {reason} ({reason_code})"
        if self.meaning:
            text += f", {self.meaning}" + (f" while {part}" if part else "")
        if euicc_message:
            text += f"; the eUICC says: {euicc_message}"
        super().__init__(text)

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "bppCommandId": self.command,
            "errorReason": self.reason,
            "errorReasonCode": self.reason_code,
        }
        if self.meaning:
            details["meaning"] = self.meaning
        if self.euicc_message:
            details["euiccReason"] = self.euicc_message
        return details


class NoTrustError(LpaError):
    """HTTPS to an SM-DP+ is needed but no CI certificate was configured to verify it with."""

    step = "tls"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
