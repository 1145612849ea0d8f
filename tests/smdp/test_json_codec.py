"""The servers' JSON codec (openrsp.rspserver.jsoncodec): orjson where it reads and writes exactly what
the standard library does, the standard library for everything else. Every request body reads as
json.loads reads it (or is refused where json.loads refuses it), every answer is json.dumps's bytes."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrsp.rspserver.jsoncodec import dump_json as encode
from openrsp.rspserver.jsoncodec import load_json

EDGE_BODIES = [
    b'{"a":1,"a":2}',
    b'{"a":1,"b":2,"a":3}',
    b"9" * 30,
    b"[" + b"9" * 100_000 + b"]",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b'{"n": [1, {"m": 123456789012345678901234567890}]}',
    b"1e999",
    b"-1E400",
    b"NaN",
    b"[Infinity, -Infinity]",
    b'"\\ud800"',
    b'{"\\udfff": 1}',
    b'"\\ud83d\\ude00"',
    b'"\xed\xa0\x80"',
    b'"\x01"',
    b'"\x7f"',
    b"\xef\xbb\xbf{}",
    '{"a": "é"}'.encode("utf-16"),
    '{"a": 1}'.encode("utf-32-le"),
    b"\xff\xfe",
    b" \t\r\n{} \n",
    b"{}\x00",
    b"{} \x0b",
    b"",
    b"0.1",
    b"-0",
    b"-0.0",
    b"2.5e-400",
    b"01",
    b"[1,]",
    b"[" * 1023 + b"]" * 1023,
    b"[" * 1024 + b"]" * 1024,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": "' + b"\\u0000" * 10 + b'"}',
]


def _outcome(reader: Any, raw: bytes) -> tuple[str, str]:
    """What a reader makes of `raw`: the value with its types spelt out, or that it refused it."""
    try:
        return ("value", _typed(reader(raw)))
    except (ValueError, RecursionError):
        return ("refused", "")


def _typed(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_typed(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_typed(v) for v in value) + "]"
    return f"{type(value).__name__}:{value!r}"


def _stdlib_loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("too deep") from None


def _stdlib_dumps(content: Any) -> bytes:
    try:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("raw", EDGE_BODIES, ids=lambda raw: repr(raw[:24]))
def test_a_body_reads_as_json_loads_reads_it(raw: bytes) -> None:
    assert _outcome(load_json, raw) == _outcome(_stdlib_loads, raw)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, exclude_categories=())),  # lone surrogates too
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, database=None, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_any_json_text_reads_as_json_loads_reads_it(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _outcome(load_json, raw) == _outcome(_stdlib_loads, raw)


@settings(max_examples=300, database=None, deadline=None)
@given(raw=st.binary(max_size=64) | st.text(alphabet='{}[]",:0123456789eE.-+ \\ud8aNIfty').map(str.encode))
def test_any_bytes_read_as_json_loads_reads_them(raw: bytes) -> None:
    assert _outcome(load_json, raw) == _outcome(_stdlib_loads, raw)


class Colour(enum.StrEnum):
    RED = "red"


EDGE_ANSWERS: list[Any] = [
    {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, "bpp": "QUJD" * 5000},
    {"message": 'quotes " \\ and controls \n\t\x00\x1f\x7f, é, 😀, \u2028'},
    {"message": "a client's lone surrogate \ud800"},
    {"n": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**70)], "t": True, "f": False, "z": None},
    {"colour": Colour.RED, "tuple": (1, 2)},
    {"float": 1e16, "small": 0.1},
]


@pytest.mark.parametrize("content", EDGE_ANSWERS, ids=range(len(EDGE_ANSWERS)))
def test_an_answer_is_json_dumps_bytes(content: Any) -> None:
    assert encode(content) == _stdlib_dumps(content)


@pytest.mark.parametrize("content", [{"x": math.nan}, {"x": [math.inf]}, {1: "int key"}, {"x": object()}])
def test_an_answer_json_dumps_refuses_is_still_refused(content: Any) -> None:
    try:
        expected: Any = _stdlib_dumps(content)
    except (ValueError, TypeError) as exc:
        expected = type(exc)
    try:
        got: Any = encode(content)
    except (ValueError, TypeError) as exc:
        got = type(exc)
    assert got == expected


@settings(max_examples=300, database=None, deadline=None)
@given(content=st.dictionaries(st.text(st.characters(codec=None, exclude_categories=())), JSON_VALUES))
def test_any_answer_is_json_dumps_bytes(content: dict[str, Any]) -> None:
    try:
        expected: Any = _stdlib_dumps(content)
    except ValueError:  # NaN or an infinity: json.dumps refuses them (allow_nan=False)
        expected = ValueError
    try:
        got: Any = encode(content)
    except ValueError:
        got = ValueError
    assert got == expected
