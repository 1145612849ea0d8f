"""The ES9+ exchange as the lab's server saw it: each request the LPA sent, what it carried that a
verdict needs (cancelSession reason, notification event, the eUICC's refusal code ...), the answer
it got and what the lab did to that answer. Decoding is best effort and bounded: the LPA under test
is hostile input like any other, and a body the lab cannot read is recorded as such.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from openrsp.asn1.rsp_types import (
    AuthenticateErrorCode,
    CancelSessionReason,
    NotificationEvent,
    iccid_from_bytes,
)
from openrsp.errors import OpenRSPError
from openrsp.rspserver import messages

MAX_BODY = 1 << 20


@dataclass
class Exchange:
    seq: int
    listener: str  # "main", "tls-untrusted", "tls-wrong-host", "smds" (ES11 and ES12 at the SM-DS)
    function: str
    at: float  # seconds since the case began
    request: dict[str, Any] = field(default_factory=dict)  # decoded facts, see summarize_request
    status: str = ""  # "Executed-Success", "Failed 8.2.6/3.8", "HTTP 204", "cut", ...
    lab: str = ""  # what the lab did to the answer, if anything
    seconds: float = 0.0  # how long the answer took

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        facts = ", ".join(f"{k}={v}" for k, v in self.request.items())
        where = "SM-DS " if self.listener == "smds" else ""  # ES11/ES12 at the lab's SM-DS
        text = f"+{self.at:6.2f}s  {where}{self.function}({facts}) → {self.status}"
        return text + (f"  [lab: {self.lab}]" if self.lab else "")


class Recorder:
    """Thread-safe log of the exchanges of the current case (the server runs in its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[Exchange] = []
        self._t0 = time.monotonic()
        self._seq = 0

    def begin(self) -> None:
        with self._lock:
            self._rows = []
            self._t0 = time.monotonic()

    def add(self, listener: str, function: str, request: dict[str, Any]) -> Exchange:
        with self._lock:
            self._seq += 1
            row = Exchange(self._seq, listener, function, round(time.monotonic() - self._t0, 3), request)
            self._rows.append(row)
            return row

    def rows(self) -> list[Exchange]:
        with self._lock:
            return list(self._rows)


# --- decoding what the LPA sent ----------------------------------------------------------------------


def _b64(body: dict[str, Any], name: str) -> bytes | None:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > MAX_BODY:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _name(enum_type: Any, value: int) -> str:
    try:
        return enum_type(value).name
    except ValueError:
        return str(value)


def summarize_request(function: str, raw: bytes) -> dict[str, Any]:
    """The facts of one ES9+ request a verdict looks at (never raises)."""
    try:
        body = json.loads(raw) if len(raw) <= MAX_BODY else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return {"body": "not a JSON object"}
    facts: dict[str, Any] = {}
    if isinstance(body.get("transactionId"), str):
        facts["transactionId"] = body["transactionId"][:32]
    try:
        facts.update(_decode(function, body))
    except (OpenRSPError, KeyError, TypeError, ValueError, IndexError) as exc:
        facts["undecodable"] = str(exc)[:120]
    return facts


def _decode(function: str, body: dict[str, Any]) -> dict[str, Any]:
    if function == "initiateAuthentication":
        # smdpAddress on ES9+, smdsAddress on ES11 (at the lab's SM-DS)
        return {k: body[k][:255] for k in ("smdpAddress", "smdsAddress") if isinstance(body.get(k), str)}
    if function == "authenticateClient":
        der = _b64(body, "authenticateServerResponse")
        if der is None:
            return {"authenticateServerResponse": "missing"}
        response = messages.parse_authenticate_server_response(der)
        if isinstance(response, messages.EuiccRefusal):
            return {"euicc": "refused", "authenticateErrorCode": _name(AuthenticateErrorCode, response.code)}
        signed1 = response.signed1.value
        ctx = signed1["ctxParams1"][1]
        return {
            "euicc": "ok",
            "serverAddress": signed1["serverAddress"],
            "matchingId": ctx.get("matchingId", ""),
        }
    if function == "getBoundProfilePackage":
        der = _b64(body, "prepareDownloadResponse")
        if der is None:
            return {"prepareDownloadResponse": "missing"}
        prepared = messages.parse_prepare_download_response(der)
        if isinstance(prepared, messages.EuiccRefusal):
            return {"euicc": "refused", "downloadErrorCode": prepared.code}
        return {"euicc": "ok", "hashCc": "present" if prepared.value.get("hashCc") else "absent"}
    if function == "handleNotification":
        der = _b64(body, "pendingNotification")
        if der is None:
            return {"pendingNotification": "missing"}
        return _notification(der)
    if function == "cancelSession":
        der = _b64(body, "cancelSessionResponse")
        if der is None:
            return {"cancelSessionResponse": "missing"}
        cancelled = messages.parse_cancel_session_response(der)
        if isinstance(cancelled, messages.EuiccRefusal):
            return {"euicc": "refused", "code": cancelled.code}
        return {"reason": _name(CancelSessionReason, int(cancelled.value["reason"]))}
    if function in ("registerEvent", "deleteEvent"):  # ES12, the SM-DP+ at the lab's SM-DS
        event_id = body.get("eventId")
        return {"eventId": event_id[:64]} if isinstance(event_id, str) else {}
    return {}


def _notification(der: bytes) -> dict[str, Any]:
    parsed = messages.parse_pending_notification(der)
    if isinstance(parsed, messages.OtherSignedNotification):
        metadata = parsed.tbs.value
        bits = metadata["profileManagementOperation"]
        events = [i for i in range(4) if _bit(bits, i)]
        event = ",".join(_name(NotificationEvent, i).lower() for i in events)
        result = ""
    else:
        metadata = parsed.value["notificationMetadata"]
        event = "install"
        kind, _outcome = parsed.value["finalResult"]
        result = "success" if kind == "successResult" else "error"
    facts: dict[str, Any] = {"event": event or "other", "seq": metadata.get("seqNumber")}
    if metadata.get("iccid"):
        facts["iccid"] = iccid_from_bytes(metadata["iccid"])
    if result:
        facts["result"] = result
    return facts


def _bit(bits: tuple[bytes, int], index: int) -> bool:
    data, length = bits
    return index < length and bool(data[index // 8] & (0x80 >> (index % 8)))


def response_status(status_code: int, body: bytes) -> str:
    """ "Executed-Success", "Failed 8.2.6/3.8", or "HTTP 204" for an empty answer."""
    if not body:
        return f"HTTP {status_code}"
    try:
        header = json.loads(body)["header"]["functionExecutionStatus"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return f"HTTP {status_code} (not ES9+ JSON)"
    status = str(header.get("status", "?"))
    data = header.get("statusCodeData") or {}
    if status == "Failed" and isinstance(data, dict):
        return f"Failed {data.get('subjectCode', '?')}/{data.get('reasonCode', '?')}"
    return status
