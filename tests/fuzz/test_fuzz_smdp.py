"""Fuzz targets: the SM-DP+'s ES9+ and ES2+ request handlers, with bodies mutated from real requests.

The seeds are recorded from a real run: an operator orders and releases a profile (ES2+), a
software eUICC with the test PKI's keys downloads it, installs it and sends its notifications
(ES9+), a second session is cancelled. Each input is one of those bodies with bytes changed inside
a base64 DER field, a field of the wrong type, a missing field or broken JSON. The service must
answer every one (success or a Failed status with SGP.22 codes: Es9Error / Es2Error) within the
deadline, without an ERROR in the log (the HTTP layer's 4.2 "internal error").
"""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

import pytest
from fuzz_support import (
    Tally,
    corpus_json,
    fuzz_settings,
    mutate_json,
    no_internal_errors,
    run_with_deadline,
)
from hypothesis import given
from hypothesis import strategies as st
from worlds import ES2_FUNCTIONS, ES9_FUNCTIONS, SmdpWorld

from openrsp.smdp.errors import Es2Error, Es9Error
from openrsp.smdp.es9.service import Es9Service


def _es9(world: SmdpWorld, function: str, body: Any) -> None:
    what = f"ES9+ {function} {json.dumps(body)[:2000]}"

    def call() -> None:
        # Es9Error is a Failed answer with SGP.22 codes; anything else is an internal error
        with no_internal_errors(what), contextlib.suppress(Es9Error):
            getattr(Es9Service(world.rig.context), function)(body)

    run_with_deadline(call, what)


def _es2(world: SmdpWorld, function: str, body: Any) -> None:
    what = f"ES2+ {function} {json.dumps(body)[:2000]}"

    def call() -> None:
        with no_internal_errors(what), contextlib.suppress(Es2Error):
            world.rig.es2.call(function, body)

    run_with_deadline(call, what)


@pytest.mark.parametrize("function", ES9_FUNCTIONS)
def test_fuzz_es9_handler(smdp_world: SmdpWorld, function: str):
    tally = Tally(f"es9:{function}")
    seeds = smdp_world.es9[function]

    @fuzz_settings()
    @given(index=st.integers(0, len(seeds) - 1), seed=st.integers(0, 2**32 - 1))
    def one(index: int, seed: int) -> None:
        _es9(smdp_world, function, mutate_json(seeds[index], random.Random(seed)))
        tally.count()

    one()
    tally.write()


@pytest.mark.parametrize("function", ES2_FUNCTIONS)
def test_fuzz_es2_handler(smdp_world: SmdpWorld, function: str):
    tally = Tally(f"es2:{function}")
    seeds = smdp_world.es2[function]

    @fuzz_settings()
    @given(index=st.integers(0, len(seeds) - 1), seed=st.integers(0, 2**32 - 1))
    def one(index: int, seed: int) -> None:
        _es2(smdp_world, function, mutate_json(seeds[index], random.Random(seed)))
        tally.count()

    one()
    tally.write()


@pytest.mark.parametrize("case", corpus_json("es9"), ids=lambda case: case["note"])
def test_es9_corpus(smdp_world: SmdpWorld, case: dict[str, Any]):
    """Bodies that once hung or crashed the SM-DP+, replayed every time."""
    _es9(smdp_world, case["function"], case["body"])
