"""ES2+ handleDownloadProgressInfo: tell the operator how its downloads go (SGP.22 §5.3.5).

Best effort and out of band: records are queued after the DB commit and posted by one background
thread per process, retried a few times with growing pauses, then dropped (the events table keeps
the full history). Nothing here ever blocks or fails an ES9+ request.
"""

from __future__ import annotations

import itertools
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from openrsp.smdp.repository import ProgressRecord

_log = logging.getLogger(__name__)
_STOP = object()


def progress_body(record: ProgressRecord, *, requester_id: str, call_id: str) -> dict[str, Any]:
    """The JSON body of one handleDownloadProgressInfo call."""
    status: dict[str, Any] = {"status": "Executed-Success" if record.point.success else "Failed"}
    if record.point.status_code_data:
        status["statusCodeData"] = dict(record.point.status_code_data)
    body: dict[str, Any] = {
        "header": {"functionRequesterIdentifier": requester_id, "functionCallIdentifier": call_id},
        "iccid": record.iccid,
        "profileType": record.profile_type,
        "timestamp": record.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "notificationPointId": record.point.point_id,
        "notificationPointStatus": status,
    }
    if record.eid:
        body["eid"] = record.eid
    if record.point.result_data:
        body["resultData"] = record.point.result_data
    return body


class ProgressNotifier:
    """Queue of progress reports and the thread that posts them to each operator's callback URL."""

    def __init__(
        self,
        *,
        requester_id: str = "openrsp-smdp",
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        verify: bool | Path = True,
        post: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.requester_id = requester_id
        self.retries = retries
        self.backoff = backoff
        self._post = post or self._http_post
        self._client: httpx.Client | None = None
        self._timeout = timeout
        self._verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=str(verify)) if isinstance(verify, Path) else verify
        )
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._calls = itertools.count(1)

    def submit(self, record: ProgressRecord) -> None:
        """Queue one report (called after commit); reports for operators without a callback are skipped."""
        if record.callback_url:
            self._ensure_started()
            self._queue.put(record)

    def _ensure_started(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="smdp-progress", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (within `timeout`), then stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        if self._client is not None:
            self._client.close()
            self._client = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._deliver(item)

    def _deliver(self, record: ProgressRecord) -> None:
        body = progress_body(record, requester_id=self.requester_id, call_id=f"progress-{next(self._calls)}")
        for attempt in range(self.retries + 1):
            try:
                self._post(record.callback_url or "", body)
                return
            except Exception as exc:
                _log.warning(
                    "progress report for %s to %s failed: %s", record.iccid, record.callback_url, exc
                )
                if attempt < self.retries:
                    time.sleep(self.backoff * 2**attempt)
        _log.error("progress report for %s dropped after %d attempts", record.iccid, self.retries + 1)

    def _http_post(self, url: str, body: dict[str, Any]) -> None:
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, verify=self._verify)
        response = self._client.post(
            url,
            json=body,
            headers={"X-Admin-Protocol": "gsma/rsp/v2.2.0", "Content-Type": "application/json"},
        )
        if response.status_code >= 300:
            raise RuntimeError(f"HTTP {response.status_code}")
