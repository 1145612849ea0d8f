"""handleDownloadProgressInfo's points (SGP.22 §5.3.5) and the record of one report: plain values,
shared by the ES9+ service and the storage that writes the reports to the outbox (es2/progress.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openrsp.smdp.states import Event


@dataclass(frozen=True)
class ProgressPoint:
    """One handleDownloadProgressInfo report (SGP.22 §5.3.5): where the download is, and how it went."""

    point_id: int  # 1 eligibility/retry check, 2 confirmation failure, 3 BPP download, 4 BPP installation
    success: bool = True
    status_code_data: dict[str, Any] | None = None
    result_data: str | None = None  # base64 (e.g. the ProfileInstallationResult)


# Which state changes the operator hears about by default. Changes the operator made itself over
# ES2+ are not reported back to it.
DEFAULT_PROGRESS: dict[Event, ProgressPoint] = {
    Event.BPP_DELIVERED: ProgressPoint(3),
    Event.INSTALLED: ProgressPoint(4),
    Event.INSTALL_FAILED: ProgressPoint(4, success=False),
    Event.SESSION_RETRYABLE: ProgressPoint(3, success=False),
    Event.SESSION_FAILED: ProgressPoint(3, success=False),
}


@dataclass(frozen=True)
class ProgressRecord:
    """What the progress notifier needs to tell the operator, captured inside the transaction."""

    iccid: str
    operator: str
    callback_url: str | None
    profile_type: str
    eid: str | None
    event: str
    from_state: str | None
    to_state: str | None
    at: datetime
    point: ProgressPoint
