"""ES9+ request fields as they arrive in JSON: base64 of DER, a hex transactionId, plain strings.

Everything malformed becomes an Es9Error with the protocol-format code, never an exception the
HTTP layer would turn into a 500.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from openrsp.asn1 import Asn1Error, rsp
from openrsp.asn1.tlv import Tlv, TlvError, read_single_tlv
from openrsp.rspserver import status


def require_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise status.MISSING_INPUT.error(f"{name} is missing")
    if not isinstance(value, str):
        raise status.INVALID_INPUT.error(f"{name} must be a string")
    return value


def optional_field(body: dict[str, Any], name: str) -> str | None:
    if body.get(name) is None:
        return None
    return require_field(body, name)


def base64_field(body: dict[str, Any], name: str) -> bytes:
    """A mandatory base64 field (standard alphabet; padding may be missing, whitespace is ignored)."""
    raw = require_field(body, name)
    try:
        # what LPAs send: no whitespace, padded; anything this refuses is normalized below
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if data:
        return data
    text = "".join(raw.split())
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise status.INVALID_INPUT.error(f"{name} is not valid base64") from None
    if not data:
        raise status.INVALID_INPUT.error(f"{name} is empty")
    return data


def transaction_id_field(body: dict[str, Any], name: str = "transactionId") -> bytes:
    """The transactionId: hex of 1 to 16 bytes (SGP.22 TransactionId)."""
    text = require_field(body, name).strip()
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise status.INVALID_INPUT.error(f"{name} is not hex") from None
    if not 1 <= len(value) <= 16:
        raise status.INVALID_INPUT.error(f"{name} must be 1 to 16 bytes")
    return value


def decode(type_name: str, der: bytes, field: str) -> Any:
    """DER of one RSP type, exactly (no trailing bytes)."""
    try:
        value, used = rsp().decode_with_length(type_name, der)
    except Asn1Error as exc:
        raise status.INVALID_INPUT.error(f"{field}: {exc}") from None
    if used != len(der):
        raise status.INVALID_INPUT.error(f"{field}: {len(der) - used} bytes after the {type_name}")
    return value


def single_tlv(der: bytes, field: str, tag: int | None = None) -> Tlv:
    try:
        return read_single_tlv(der, tag)
    except TlvError as exc:
        raise status.INVALID_INPUT.error(f"{field}: {exc}") from None


def children(tlv: Tlv, field: str) -> list[Tlv]:
    try:
        return tlv.children()
    except TlvError as exc:
        raise status.INVALID_INPUT.error(f"{field}: {exc}") from None
