"""ES2+ handleDownloadProgressInfo: tell the operator how its downloads go (SGP.22 §5.3.5).

Durable: a report is an outbox row (openrsp.smdp.outbox, kind PROGRESS) written in the
transaction of the change it reports, so it exists exactly when the change does, and survives
any crash or restart. Any live SM-DP+ process posts it (`ProgressDeliverer`), retrying with
back-off while the operator's endpoint is down. Each report carries its outbox idempotency key as
header.functionCallIdentifier: delivery is at least once (a process may die between the post and
recording it), and the key lets the operator drop the rare second copy. Nothing here ever blocks
or fails an ES9+ request: the post happens outside every request and transaction.
"""

from __future__ import annotations

import os
import ssl
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from openrsp.smdp.es2.points import DEFAULT_PROGRESS, ProgressPoint, ProgressRecord
from openrsp.smdp.outbox import OutboxRefused, OutboxRetry, insert_values

__all__ = [
    "DEFAULT_PROGRESS",
    "PROGRESS",
    "ProgressDeliverer",
    "ProgressPoint",
    "ProgressRecord",
    "outbox_values",
    "progress_body",
]

PROGRESS = "es2.handleDownloadProgressInfo"
REQUESTER_ID = "openrsp-smdp"
# Answers after which asking again may help; any other 4xx is a refusal (recorded, not retried).
_RETRYABLE_STATUS = frozenset({408, 425, 429})


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


def outbox_values(record: ProgressRecord, now: datetime) -> dict[str, Any] | None:
    """The outbox row of one report, or None when the operator has no callback URL."""
    if not record.callback_url:
        return None
    key = f"{PROGRESS}:{os.urandom(12).hex()}"
    body = progress_body(record, requester_id=REQUESTER_ID, call_id=key)
    return insert_values(PROGRESS, record.callback_url, body, now, idempotency_key=key)


class ProgressDeliverer:
    """Posts PROGRESS outbox rows to the operator's callback URL (the row's target)."""

    def __init__(self, *, timeout: float = 5.0, verify: bool | Path = True) -> None:
        self._timeout = timeout
        self._verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=str(verify)) if isinstance(verify, Path) else verify
        )
        self._client: httpx.Client | None = None

    def __call__(self, kind: str, target: str, payload: dict[str, Any]) -> None:
        if kind != PROGRESS:
            raise OutboxRefused(f"no deliverer for {kind}")
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, verify=self._verify)
        try:
            response = self._client.post(
                target,
                json=payload,
                headers={"X-Admin-Protocol": "gsma/rsp/v2.2.0", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise OutboxRetry(f"{type(exc).__name__}: {exc}") from None
        if response.status_code < 300:
            return
        if response.status_code >= 500 or response.status_code in _RETRYABLE_STATUS:
            raise OutboxRetry(f"HTTP {response.status_code}")
        raise OutboxRefused(f"HTTP {response.status_code}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
