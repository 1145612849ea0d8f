"""What a lab case is made of: the steps the device under test (DUT) performs, the checks that judge
what the server and the card saw, and the result of one case in a campaign.

Cases are data plus two functions (prepare, judge); the runner and the DUT drivers never know which
case they run. A case that needs a feature the platform does not have yet carries `unavailable`
(the reason), so `lab list` shows it and `lab run` reports it as not run, never as passed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openrsp.lab.context import CaseContext


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # the tester did not answer, or the DUT could not be driven
    NOT_RUN = "not-run"  # not available yet, or not applicable to this DUT/card


# --- what the DUT is asked to do ---------------------------------------------------------------------


class Action(enum.StrEnum):
    DOWNLOAD = "download"  # with an activation code (and maybe a confirmation code)
    DOWNLOAD_DEFAULT = "download-default"  # no activation code: the eUICC's default SM-DP+
    DISCOVER = "discover"  # ask the SM-DS for events ("check for eSIMs"), download the first one
    ENABLE = "enable"
    DISABLE = "disable"
    DELETE = "delete"


@dataclass(frozen=True)
class Step:
    action: Action
    activation_code: str | None = None
    confirmation_code: str | None = None
    iccid: str | None = None
    note: str = ""  # what the tester is told (manual DUT), e.g. "type the WRONG code 0000"
    retry: bool = False  # a second attempt: performed only when the step before it failed

    def describe(self) -> str:
        words = {
            Action.DOWNLOAD: f"download with activation code {self.activation_code}",
            Action.DOWNLOAD_DEFAULT: "download from the default SM-DP+ (no activation code)",
            Action.DISCOVER: "check for eSIMs: discovery at the root SM-DS, download the event found",
            Action.ENABLE: f"enable profile {self.iccid}",
            Action.DISABLE: f"disable profile {self.iccid}",
            Action.DELETE: f"delete profile {self.iccid}",
        }[self.action]
        if self.confirmation_code is not None:
            words += f", confirmation code {self.confirmation_code}"
        return words + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class StepOutcome:
    """What the DUT itself said about one step (exit status and its words)."""

    step: Step
    ok: bool
    detail: str = ""
    skipped: bool = False  # the DUT cannot perform this action (e.g. a download-only command)


# --- judging ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Question:
    """The one thing only a person can tell: what the device's screen said (manual DUT)."""

    text: str
    choices: tuple[str, ...]
    expected: tuple[str, ...]  # the answers a conformant device gives


# The answers most cases offer the tester.
SCREEN_CHOICES = (
    "The eSIM was added",
    "An error was shown and the device stopped",
    "The device kept trying / showed nothing",
)
ADDED, ERROR_SHOWN, KEPT_TRYING = SCREEN_CHOICES


@dataclass(frozen=True)
class Prepared:
    """A case made ready on the server: the steps for the DUT and what the judge needs later."""

    steps: tuple[Step, ...]
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. {"iccid": ...}, for judge()
    not_applicable: str | None = None  # this DUT/card cannot run the case: why
    cleanup: Callable[[], None] | None = None  # put back what prepare() changed outside the server


@dataclass(frozen=True)
class Case:
    id: str  # stable, dotted: "download.nominal", "refusal.expired", ...
    title: str
    expected: str  # one sentence: what a conformant LPA does
    prepare: Callable[[CaseContext], Prepared] | None = None
    judge: Callable[[CaseContext, Prepared], list[Check]] | None = None
    question: Question | None = None
    needs: frozenset[str] = frozenset()  # DUT capabilities: "manage" (enable/disable/delete), "discover"
    unavailable: str | None = None  # the platform lacks a feature: why (listed, never run)
    group: str = ""

    @property
    def available(self) -> bool:
        return self.unavailable is None and self.prepare is not None and self.judge is not None


@dataclass
class CaseResult:
    case: Case
    verdict: Verdict
    checks: list[Check] = field(default_factory=list)
    steps: list[StepOutcome] = field(default_factory=list)
    exchange: list[dict[str, Any]] = field(default_factory=list)  # Exchange.as_dict() rows
    card: dict[str, Any] = field(default_factory=dict)  # before/after snapshots of a virtual card
    answer: str | None = None  # the tester's answer (manual DUT)
    reason: str = ""  # why not run / inconclusive
    seconds: float = 0.0

    @property
    def happened(self) -> str:
        """One line: what the DUT did, in the words of the checks that failed (or all passed)."""
        if self.verdict is Verdict.NOT_RUN or (self.reason and not self.checks):
            return self.reason
        failed = [c for c in self.checks if not c.ok]
        if not failed:
            return f"all {len(self.checks)} checks passed: " + "; ".join(c.name for c in self.checks)
        return "; ".join(f"{c.name}: {c.detail}" if c.detail else c.name for c in failed)


def verdict_of(checks: list[Check]) -> Verdict:
    return Verdict.PASS if checks and all(c.ok for c in checks) else Verdict.FAIL
