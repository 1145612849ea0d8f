"""What every fuzz target shares: the budget, the per-input watchdog, mutations of real inputs, the corpus.

Budget: OPENRSP_FUZZ_EXAMPLES inputs per target (small in `make test`, large in `make fuzz`).
Watchdog: each input runs under OPENRSP_FUZZ_DEADLINE seconds; an input that takes longer is a hang
and fails the test (a timer signal interrupts a Python loop in the main thread; elsewhere a worker
thread is given up on). An exception other than the target's typed, expected errors fails too, and so
does an ERROR log record with a traceback (the "internal error" answer of a server or card).
Corpus: tests/fuzz/corpus/<target>.txt holds inputs that once failed (hex, one a line, # comments);
every run replays them first.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import random
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

CORPUS = Path(__file__).parent / "corpus"
EXAMPLES = int(os.environ.get("OPENRSP_FUZZ_EXAMPLES", "300"))
DEADLINE = float(os.environ.get("OPENRSP_FUZZ_DEADLINE", "10"))
STATS = os.environ.get("OPENRSP_FUZZ_STATS")  # a file to append "target inputs hangs errors" lines to


class Hang(AssertionError):
    """An input the target did not finish within the deadline."""


class InternalError(AssertionError):
    """An input that made the target fail in a way that is not a typed answer."""


def fuzz_settings(examples: int | None = None) -> settings:
    """Random generation only (no shrinking: a hang would be re-run many times), no example database."""
    return settings(
        max_examples=examples or EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# --- the watchdog ------------------------------------------------------------------------------------


def run_with_deadline(function: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """function() within `deadline` seconds, or Hang."""
    if threading.current_thread() is threading.main_thread():
        return _with_timer(function, what, deadline)
    return _with_thread(function, what, deadline)


class _Expired(BaseException):
    """Raised by the timer inside the target: not an Exception, so no `except Exception` there hides it."""


def _with_timer(function: Callable[[], Any], what: str, deadline: float) -> Any:
    def expired(_signum: int, _frame: Any) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, deadline)
    try:
        return function()
    except _Expired:
        raise Hang(f"no answer within {deadline} s for {what}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _with_thread(function: Callable[[], Any], what: str, deadline: float) -> Any:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed back to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name="fuzz-input")
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise Hang(f"no answer within {deadline} s for {what}")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# --- internal errors in the log -------------------------------------------------------------------


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def no_internal_errors(what: str) -> Iterator[None]:
    """Fail when openrsp logs an ERROR while the block runs (a card's 6F00, a server's 4.2)."""
    handler = _ErrorRecords()
    logger = logging.getLogger("openrsp")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.records:
        record = handler.records[0]
        detail = ""
        if record.exc_info and record.exc_info[1] is not None:
            detail = f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        raise InternalError(f"internal error logged for {what}: {record.getMessage()}{detail}")


# --- statistics for docs/fuzzing.md -----------------------------------------------------------------


class Tally:
    """How many inputs one target ran; written to OPENRSP_FUZZ_STATS when set."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.inputs = 0
        self.outcomes: dict[str, int] = {}

    def count(self, outcome: str = "ok") -> None:
        self.inputs += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def write(self) -> None:
        if STATS:
            with open(STATS, "a", encoding="utf-8") as out:
                out.write(json.dumps({"target": self.target, "inputs": self.inputs, **self.outcomes}) + "\n")


# --- mutations of real inputs ---------------------------------------------------------------------

_INTERESTING = [0x00, 0x01, 0x04, 0x05, 0x1F, 0x30, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xA0, 0xBF, 0xFF]


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """A few byte-level changes of the kinds that break TLV structure and schema alike."""
    out = bytearray(data)
    for _ in range(rounds or rng.choice((1, 1, 1, 2, 3, 8))):
        if not out:
            out.append(rng.randrange(256))
            continue
        index = rng.randrange(len(out))
        kind = rng.randrange(9)
        if kind == 0:
            out[index] = rng.randrange(256)
        elif kind == 1:
            out[index] = rng.choice(_INTERESTING)
        elif kind == 2:
            out[index] ^= 1 << rng.randrange(8)
        elif kind == 3:
            del out[index : index + rng.randint(1, 4)]
        elif kind == 4:
            out[index:index] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif kind == 5:
            del out[index:]
        elif kind == 6:  # duplicate a slice (repeated TLVs, long lists)
            end = min(len(out), index + rng.randint(1, 64))
            out[index:index] = out[index:end] * rng.randint(1, 8)
        elif kind == 7:
            out[index] = (out[index] + rng.choice((-1, 1))) & 0xFF  # lengths one off
        else:
            out[index:index] = bytes([0x81, rng.randrange(256)]) if rng.random() < 0.5 else b"\x80"
    return bytes(out)


@st.composite
def mutated(draw: Any, seeds: list[bytes]) -> bytes:
    """One of the seeds, changed a little (a random seed for the mutation, drawn by hypothesis)."""
    seed = draw(st.sampled_from(seeds))
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=len(seed) + 16))
    return mutate(seed, random.Random(draw(st.integers(0, 2**32 - 1))))


def mutate_json(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A real request body with its DER fields mutated inside their base64, or its JSON shape broken.

    Always a JSON object: anything else the HTTP layer refuses before a handler sees it.
    """
    body = json.loads(json.dumps(body))
    fields = [k for k, v in body.items() if isinstance(v, str)]
    choice = rng.randrange(10)
    if fields and choice < 6:
        name = rng.choice(fields)
        raw = _unb64(body[name])
        if raw is not None:
            body[name] = base64.b64encode(mutate(raw, rng)).decode()
        else:
            body[name] = mutate(body[name].encode(), rng).decode("utf-8", "replace")
        return body
    if fields and choice == 6:
        body[rng.choice(fields)] = rng.choice([None, 0, -1, 2**70, [], {}, "", "A" * 5000, "%%%", "\ud800"])
        return body
    if body and choice == 7:
        del body[rng.choice(list(body))]
        return body
    if choice == 8:
        text = json.dumps(body).encode()
        try:
            changed = json.loads(mutate(text, rng))
        except ValueError:
            return body
        return changed if isinstance(changed, dict) else body
    return rng.choice([{}, {"extra": body}, {**body, "unexpected": {"a": [1, 2]}}])


def _unb64(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw or None


# --- the corpus --------------------------------------------------------------------------------------


def corpus(target: str) -> list[bytes]:
    """Inputs that once failed this target (hex lines; '#' starts a comment)."""
    path = CORPUS / f"{target}.txt"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            out.append(bytes.fromhex(text))
    return out


def corpus_json(target: str) -> list[Any]:
    """JSON bodies that once failed this target (one JSON value a line)."""
    path = CORPUS / f"{target}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
