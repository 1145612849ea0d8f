"""The JSON binding shared by ES2+ and ES9+ (SGP.22 §6.5): response headers and request checks."""

from __future__ import annotations

from typing import Any

from openrsp.smdp.errors import RspStatusError
from openrsp.status_codes import PROTOCOL_FORMAT

ADMIN_PROTOCOL = "gsma/rsp/v2.2.0"  # what we send in X-Admin-Protocol
ADMIN_PROTOCOL_PREFIX = "gsma/rsp/v2."  # what we accept


def success(fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, **(fields or {})}


def failure(error: RspStatusError) -> dict[str, Any]:
    return {
        "header": {
            "functionExecutionStatus": {"status": "Failed", "statusCodeData": error.status_code_data()}
        }
    }


def require_string(
    body: dict[str, Any], name: str, error: type[RspStatusError], subject: str = PROTOCOL_FORMAT
) -> str:
    """A mandatory string field, or the error class with (subject, 2.2 missing / 2.1 invalid)."""
    value = body.get(name)
    if value is None:
        raise error(subject, "2.2", f"{name} is missing")
    if not isinstance(value, str):
        raise error(subject, "2.1", f"{name} must be a string")
    return value


def optional_string(
    body: dict[str, Any], name: str, error: type[RspStatusError], subject: str = PROTOCOL_FORMAT
) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise error(subject, "2.1", f"{name} must be a string")
    return value
