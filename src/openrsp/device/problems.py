"""Failures in plain words for the page, each with the code SGP.22 gives it.

A phone does not show "SM-DP+ refused authenticateClient: 8.2.6/3.8"; it says what happened and what
to do, and keeps the code for whoever has to look into it. `explain` turns any openrsp error into a
`Problem`: a title in plain words, the technical detail, the SGP.22 code and the failing step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.device.gate import CardBusy
from openrsp.errors import InputError, OpenRSPError
from openrsp.lpa.core.errors import (
    DownloadCancelled,
    Es9Failure,
    Es9ProtocolError,
    Es10Error,
    LpaError,
    NoTrustError,
    ProfileInstallFailed,
    SmdpTlsError,
    SmdpUnreachable,
)
from openrsp.status_codes import describe

# ES9+ failures a user meets, by (subjectCode, reasonCode) (SGP.22 §5.1.6.4, §5.6).
ES9_WORDS: dict[tuple[str, str], str] = {
    ("8.2.6", "3.8"): "The SM-DP+ does not know this activation code, or it has been used already.",
    ("8.2.7", "2.2"): "The operator asks for a confirmation code, and none was given.",
    ("8.2.7", "3.8"): "The confirmation code is wrong.",
    (
        "8.2.7",
        "6.4",
    ): "Too many wrong confirmation codes: this eSIM order is blocked. Ask your operator for a new one.",
    ("8.8.5", "4.10"): "This eSIM order has expired. Ask your operator for a new one.",
    ("8.8.5", "6.4"): "This eSIM order was tried too many times. Ask your operator for a new one.",
    ("8.1.1", "3.8"): "This eSIM order is for another device.",
    ("8.2", "1.2"): "The operator has not released this eSIM yet.",
    ("8.2", "3.7"): "This eSIM is not available for download any more.",
    ("8.8.1", "3.8"): "The activation code names another SM-DP+ than the one that answered.",
    ("8.8.2", "3.1"): "The SM-DP+ and this eSIM trust no common certificate issuer.",
    ("8.8.3", "3.1"): "The SM-DP+ does not support this eSIM's version.",
    ("8.1.2", "6.1"): "The SM-DP+ does not accept this eSIM's manufacturer certificate.",
    ("8.1.3", "6.1"): "The SM-DP+ does not accept this eSIM's certificate.",
    ("8.1.3", "6.3"): "This eSIM's certificate has expired.",
}

# ES10 result codes by function and name (SGP.22 §5.7).
ES10_WORDS: dict[tuple[str, str], str] = {
    ("EnableProfile", "profileNotInDisabledState"): "This profile is already in use.",
    (
        "EnableProfile",
        "disallowedByPolicy",
    ): "The profile in use may not be switched off (its policy forbids it).",
    ("EnableProfile", "catBusy"): "The eSIM is busy; try again in a moment.",
    ("DisableProfile", "profileNotInEnabledState"): "This profile is not in use.",
    ("DisableProfile", "disallowedByPolicy"): "This profile may not be turned off (its policy forbids it).",
    ("DisableProfile", "catBusy"): "The eSIM is busy; try again in a moment.",
    ("DeleteProfile", "profileNotInDisabledState"): "Turn the profile off before deleting it.",
    ("DeleteProfile", "disallowedByPolicy"): "This profile may not be deleted (its policy forbids it).",
    ("SetNickname", "iccidNotFound"): "There is no such profile on the eSIM.",
}
_NOT_FOUND = "There is no such profile on the eSIM."


@dataclass(frozen=True)
class Problem:
    title: str  # plain words: what happened, what to do
    detail: str  # the technical message
    code: str | None = None  # "8.2.6 / 3.8 (Matching ID - Refused)", "EnableProfile result 2 (...)"
    step: str | None = None  # the failing call, lpac-style (es9p_authenticate_client, ...)
    kind: str = "error"  # "error", "cancelled", "refused" (by the LPA's own checks), "busy", "input"
    wrong_code: bool = False  # a confirmation code was refused: the page may ask for it again

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "detail": self.detail,
            "code": self.code,
            "step": self.step,
            "kind": self.kind,
            "wrongCode": self.wrong_code,
        }


def explain(error: BaseException) -> Problem:
    """Plain words for any failure the page may meet."""
    detail = " ".join([str(error), *getattr(error, "__notes__", [])])
    step = error.step if isinstance(error, LpaError) else None
    if isinstance(error, CardBusy):
        return Problem(_sentence(str(error)), detail, kind="busy")
    if isinstance(error, Es9Failure):
        key = (error.subject_code, error.reason_code)
        title = ES9_WORDS.get(key) or f"The SM-DP+ refused the download ({describe(*key)})."
        code = f"{error.subject_code} / {error.reason_code} ({describe(*key)})"
        return Problem(title, detail, code, step, wrong_code=key == ("8.2.7", "3.8"))
    if isinstance(error, Es10Error):
        words = ES10_WORDS.get((error.function, error.name))
        if words is None and error.name == "iccidOrAidNotFound":
            words = _NOT_FOUND
        title = words or f"The eSIM refused {error.function} ({error.name})."
        return Problem(title, detail, f"{error.function} result {error.code} ({error.name})", step)
    if isinstance(error, ProfileInstallFailed):
        title = f"The eSIM could not install the profile ({error.reason})."
        code = f"errorReason {error.reason_code} ({error.reason}) at {error.command}"
        return Problem(title, detail, code, step)
    if isinstance(error, SmdpTlsError):
        return Problem(
            f"The SM-DP+ at {error.address} could not be trusted ({error.reason}).", detail, None, step
        )
    if isinstance(error, SmdpUnreachable):
        return Problem(f"The SM-DP+ at {error.address} cannot be reached.", detail, None, step)
    if isinstance(error, Es9ProtocolError):
        return Problem("The SM-DP+ gave an answer this device does not understand.", detail, None, step)
    if isinstance(error, DownloadCancelled) and error.reason == CancelSessionReason.pprNotAllowed:
        # the LPA refused before consent: the eSIM's rules authorisation table forbids the profile's PPRs
        title = "This eSIM does not allow the rules this profile comes with; nothing was installed."
        code = f"CancelSession reason {int(error.reason)} (pprNotAllowed)"
        return Problem(title, detail, code, step, "refused")
    if isinstance(error, DownloadCancelled):
        return Problem("The download was cancelled; nothing was installed.", detail, None, step, "cancelled")
    if isinstance(error, NoTrustError):
        return Problem("This device has no certificate to check SM-DP+s with.", detail, None, step)
    if isinstance(error, InputError):
        return Problem(_sentence(str(error)), detail, None, step, "input")
    if isinstance(error, OpenRSPError):
        return Problem(_sentence(str(error)), detail, None, step)
    return Problem("Something went wrong inside the device.", f"{type(error).__name__}: {error}")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return "Something went wrong."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
