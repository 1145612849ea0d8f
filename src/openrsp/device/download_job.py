"""One profile download, run by the LPA core in a worker thread and watched by the page.

The LPA's `Download` asks its user through callbacks (consent, confirmation code) and reports each
step and each loaded segment. Here those callbacks park the worker thread until the page answers
(`answer_consent`, `answer_code`) and publish every change, so the page can show the consent screen,
the code prompt and a live progress bar. Cancelling raises DownloadCancelled inside the flow at its
next step or segment: the LPA then cancels the session on the eUICC and at the SM-DP+ as usual.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.device.problems import Problem, explain
from openrsp.device.screen import metadata_json
from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.lpa.core.errors import DownloadCancelled
from openrsp.lpa.core.es10 import ProfileMetadata
from openrsp.lpa.core.lpd import Download, DownloadRequest, DownloadResult, LoadProgress, Step
from openrsp.lpa.core.notifications import NotificationOutcome
from openrsp.lpa.core.steps import STEP_WORDS
from openrsp.lpa.ui import lpac_json
from openrsp.lpa.ui.session import LpaSession

STARTING, RUNNING, CONSENT, CODE, LOADING = "starting", "running", "consent", "confirmation-code", "loading"
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
ANSWER_TIMEOUT = 600.0  # seconds a download waits for the user before giving up (postponed)


class NotWaiting(OpenRSPError):
    """The page answered a question the download is not asking (any more)."""


@dataclass(frozen=True)
class _Answer:
    value: Any


class DownloadJob:
    def __init__(
        self,
        job_id: int,
        request: DownloadRequest,
        activation_code: str,
        *,
        consented: bool = False,
        on_change: Callable[[DownloadJob], None] = lambda _job: None,
        answer_timeout: float = ANSWER_TIMEOUT,
    ) -> None:
        self.id = job_id
        self.request = request
        self.activation_code = activation_code
        self._consented = consented  # the user already agreed (asking again after a wrong code)
        self._on_change = on_change
        self._answer_timeout = answer_timeout
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._answer: _Answer | None = None
        self._cancelled = False
        self.phase = STARTING
        self.version = 0  # grows with every change: the page drops views older than what it shows
        self.step_words = "starting"
        self.metadata: ProfileMetadata | None = None
        self.progress: LoadProgress | None = None
        self.result: DownloadResult | None = None
        self.notifications: list[NotificationOutcome] = []
        self.problem: Problem | None = None
        self._outcome: tuple[str, Problem | None] | None = None  # set by run(), published by finish()

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    # --- the page's side -------------------------------------------------------------------------
    def answer_consent(self, accept: bool) -> None:
        self._give(CONSENT, bool(accept))

    def answer_code(self, code: str) -> None:
        self._give(CODE, code.strip() or None)

    def cancel(self) -> None:
        """Stop the download: a pending question is answered "no", a running step stops at the next one."""
        with self._lock:
            if self.phase in FINISHED:
                return
            self._cancelled = True
            if self.phase in (CONSENT, CODE):
                self._answer = _Answer(False if self.phase == CONSENT else None)
                self._answered.notify_all()

    def _give(self, phase: str, value: Any) -> None:
        with self._lock:
            if self.phase != phase or self._answer is not None:
                raise NotWaiting(
                    f"the download is not waiting for {phase.replace('-', ' ')} (it is {self.phase})"
                )
            self._answer = _Answer(value)
            self._answered.notify_all()

    # --- the worker's side -----------------------------------------------------------------------
    def run(self, session: LpaSession) -> None:
        """Run the whole download on `session` (the caller holds the card); never raises.

        The outcome is kept until `finish()`: the page hears "done" only once the card is free again,
        so whatever it does next is not refused as busy.
        """
        try:
            self._set(RUNNING)
            self.result = self._download(session)
            self.notifications = [self.result.notification] if self.result.notification else []
            # The profile is installed; if the eUICC cannot list its notifications now, they go later.
            with contextlib.suppress(OpenRSPError):
                self.notifications += session.after_operation()
            self._outcome = (DONE, None)
        except DownloadCancelled as exc:
            self._outcome = (CANCELLED, explain(exc))
        except Exception as exc:  # every failure must reach the page, whatever raised it
            self._outcome = (FAILED, explain(exc))

    def fail(self, problem: Problem) -> None:
        """The download could not run (e.g. the eUICC stayed busy); `finish()` reports it."""
        if self._outcome is None:
            self._outcome = (FAILED, problem)

    def finish(self) -> None:
        """Publish the outcome of `run` (or `fail`)."""
        phase, problem = self._outcome or (FAILED, None)
        self._set(phase, step_words="installed" if phase == DONE else None, problem=problem)

    def _download(self, session: LpaSession) -> DownloadResult:
        es9 = session.connect(self.request.smdp_address)
        try:
            download = Download(
                session.es10,
                es9,
                self.request,
                consent=self._ask_consent,
                confirmation_code=self._ask_code,
                progress=self._loaded,
                on_step=self._stepping,
                notifications=session.notification_sender() if session.notify else None,
            )
            return download.run()
        finally:
            es9.close()

    def _stepping(self, step: Step) -> None:
        self._stop_if_cancelled()
        phase = LOADING if step is Step.LOAD_BOUND_PROFILE_PACKAGE else RUNNING
        self._set(phase, step_words=STEP_WORDS.get(step, step.value.replace("_", " ")))

    def _loaded(self, progress: LoadProgress) -> None:
        with self._lock:
            self.progress = progress
        self._changed()
        self._stop_if_cancelled()

    def _ask_consent(self, metadata: ProfileMetadata) -> bool:
        with self._lock:
            self.metadata = metadata
        if self._consented:
            self._changed()
            return True
        return bool(self._ask(CONSENT, "waiting for your consent"))

    def _ask_code(self, _metadata: ProfileMetadata) -> str | None:
        return self._ask(CODE, "waiting for the confirmation code")

    def _ask(self, phase: str, words: str) -> Any:
        """Park the worker until the page answers; None when the user cancelled."""
        with self._lock:
            if self._cancelled:
                return None
            self._answer = None
            self.phase, self.step_words = phase, words
        self._changed()
        with self._lock:
            self._answered.wait_for(lambda: self._answer is not None, self._answer_timeout)
            answer, self._answer = self._answer, None
            self.phase, self.step_words = RUNNING, "continuing"
        if answer is None:
            raise DownloadCancelled("nobody answered the device in time", CancelSessionReason.timeout)
        self._changed()
        return answer.value

    def _stop_if_cancelled(self) -> None:
        with self._lock:
            cancelled = self._cancelled
        if cancelled:
            raise DownloadCancelled("cancelled on the device", CancelSessionReason.postponed)

    def _set(self, phase: str, *, step_words: str | None = None, problem: Problem | None = None) -> None:
        with self._lock:
            self.phase = phase
            if step_words is not None:
                self.step_words = step_words
            if problem is not None:
                self.problem = problem
        self._changed()

    def _changed(self) -> None:
        with self._lock:
            self.version += 1
        self._on_change(self)

    # --- the page's view -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self._lock:
            progress = self.progress
            result = self.result
            return {
                "id": self.id,
                "version": self.version,
                "phase": self.phase,
                "step": self.step_words,
                "activationCode": self.activation_code,
                "smdp": self.request.smdp_address,
                "metadata": metadata_json(self.metadata) if self.metadata else None,
                "progress": None
                if progress is None
                else {
                    "segment": progress.segment,
                    "segments": progress.segments,
                    "bytesDone": progress.bytes_done,
                    "bytesTotal": progress.bytes_total,
                },
                "result": None if result is None else _result_json(result),
                "notifications": [lpac_json.outcome(o) for o in self.notifications],
                "problem": self.problem.to_json() if self.problem else None,
            }


def _result_json(result: DownloadResult) -> dict[str, Any]:
    meta, install = result.metadata, result.install
    return {
        "iccid": install.iccid or meta.iccid,
        "name": meta.profile_name,
        "spn": meta.service_provider_name,
        "profileClass": meta.profile_class,
        "isdpAid": to_hex(install.isdp_aid) if install.isdp_aid else None,
    }
