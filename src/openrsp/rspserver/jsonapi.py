"""The JSON binding shared by ES2+ and ES9+ (SGP.22 §6.5): response headers and request checks."""

from __future__ import annotations

from typing import Any

from openrsp.rspserver.errors import RspStatusError
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
    body: dict[str, Any],
    name: str,
    error: type[RspStatusError],
    subject: str = PROTOCOL_FORMAT,
    max_length: int | None = None,
) -> str:
    """A mandatory string field, or the error class with (subject, 2.2 missing / 2.1 invalid)."""
    value = body.get(name)
    if value is None:
        raise error(subject, "2.2", f"{name} is missing")
    return _checked_string(value, name, error, subject, max_length)


def optional_string(
    body: dict[str, Any],
    name: str,
    error: type[RspStatusError],
    subject: str = PROTOCOL_FORMAT,
    max_length: int | None = None,
) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    return _checked_string(value, name, error, subject, max_length)


def _checked_string(
    value: Any, name: str, error: type[RspStatusError], subject: str, max_length: int | None
) -> str:
    """A string that is text (JSON's \\uD800 escapes can make lone surrogates, which no
    encoder, hash or database takes) and not longer than the field allows."""
    if not isinstance(value, str):
        raise error(subject, "2.1", f"{name} must be a string")
    if max_length is not None and len(value) > max_length:
        raise error(subject, "2.1", f"{name} is longer than {max_length} characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise error(subject, "2.1", f"{name} is not valid Unicode text") from None
    return value
