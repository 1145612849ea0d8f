"""JSON as the standard library reads and writes it, through orjson (compiled) wherever orjson
gives exactly the same result: request bodies and answers of both servers, and the JSON columns
the database hands back. Whatever orjson would read or write differently goes to json."""

from __future__ import annotations

import json
from typing import Any

import orjson


def load_json(raw: bytes | str) -> Any:
    """The JSON value of `raw` (a request body, a JSON column) exactly as the standard library's
    json.loads reads it; ValueError for whatever json.loads refuses (too deep a nesting included).

    orjson (compiled) reads well-formed UTF-8 JSON in a third of the time. Everything it refuses
    is read again by json.loads, which decides as before: lone surrogates (\\uD800 escapes and
    their UTF-8 bytes), NaN and Infinity, overflowing numbers (1e999), a UTF-8 BOM, UTF-16/32
    text, nesting past 1024 levels. What it takes, it reads as json.loads does, except an integer
    beyond 64 bits, which it turns into a float: a float in its result sends the text to json.loads
    too (SGP.22 has no float fields, so a real request never takes that way).
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if not _holds_float(value):
            return value
    try:
        return json.loads(raw)  # C decoder: linear; too deep a nesting is a RecursionError
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _holds_float(value: Any) -> bool:
    """Any float in a decoded JSON value; iterative (orjson nests up to 1024 levels), and linear
    in the text's size (max_body_bytes bounds a request's)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is float:
            return True
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return False


# orjson would write dataclasses, datetimes and subclasses of str/int/dict/list its own way; with
# these it refuses them instead, and json.dumps (below) writes them as it always did.
_ORJSON_STRICT = (
    orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dump_json(content: Any) -> bytes:
    """The JSON answer as JSONResponse encodes it (compact, UTF-8, no NaN); a message quoting a
    client's lone surrogate (a \\uD800 escape it sent) comes out escaped instead of failing the
    answer. orjson writes the same bytes for what it takes (str keys, 64-bit integers, no float
    in an answer); anything else (lone surrogates, NaN, big integers, other types) goes to
    json.dumps, as before."""
    if not _holds_float(content):
        try:
            return orjson.dumps(content, option=_ORJSON_STRICT)
        except orjson.JSONEncodeError:
            pass
    try:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
