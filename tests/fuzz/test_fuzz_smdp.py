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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from es9_harness import (
    TS48_PROFILE,
    Es9Rig,
    SoftEuicc,
    authenticate,
    b64,
    get_bpp,
    initiate,
    make_context,
    ok,
)
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
from smdp_support import FakeClock

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.smdp.db.engine import make_engine, migrate, sqlite_url
from openrsp.smdp.errors import Es2Error, Es9Error
from openrsp.smdp.es9plus import Es9Service
from openrsp.smdp.repository import Repository
from openrsp.smdp.sealing import Sealer

ES9_FUNCTIONS = [
    "initiateAuthentication",
    "authenticateClient",
    "getBoundProfilePackage",
    "handleNotification",
    "cancelSession",
]
ES2_FUNCTIONS = ["downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile", "profileStatus"]


@dataclass
class SmdpWorld:
    rig: Es9Rig
    es9: dict[str, list[dict[str, Any]]]  # function -> real request bodies
    es2: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def smdp_world(tmp_path_factory, pki_dir: Path, smdp_credentials, ts48_dir: Path) -> Iterator[SmdpWorld]:
    base = tmp_path_factory.mktemp("fuzz-smdp")
    engine = make_engine(sqlite_url(base / "smdp.sqlite"))
    migrate(engine)
    clock = FakeClock(now=datetime.now(UTC).replace(microsecond=0))
    repo = Repository(engine, Sealer(bytes(range(32))), clock)
    context = make_context(repo, smdp_credentials, clock, base)
    rig = Es9Rig(context, clock, SoftEuicc.load(pki_dir, "nist"), (ts48_dir / TS48_PROFILE).read_bytes())
    es9: dict[str, list[dict[str, Any]]] = {name: [] for name in ES9_FUNCTIONS}
    es2: dict[str, list[dict[str, Any]]] = {name: [] for name in ES2_FUNCTIONS}
    real_call = rig.call

    def recording(function: str, body: dict[str, Any]) -> dict[str, Any]:
        es9[function].append(json.loads(json.dumps(body)))
        return real_call(function, body)

    # ES2+: order, confirm (with a confirmation code on the second), release, status, cancel.
    first = rig.add_profile()
    second = rig.add_profile()
    third = rig.add_profile()
    es2["downloadOrder"].append({"iccid": first, "eid": rig.euicc.eid})
    es2["confirmOrder"].append({"iccid": first, "releaseFlag": True, "confirmationCode": "1234"})
    es2["releaseProfile"].append({"iccid": second})
    es2["profileStatus"].append({"iccid": first})
    es2["cancelOrder"].append({"iccid": third, "finalProfileStatusIndicator": "Available"})
    matching_id = rig.order(first, eid=rig.euicc.eid)
    # ES9+: one whole download with its install notification, then a cancelled session.
    init = ok(initiate(recording, rig.euicc, rig.address))
    auth = ok(authenticate(recording, rig.euicc, init, matching_id))
    ok(get_bpp(recording, rig.euicc, auth))
    result = rig.euicc.install_result(first, rig.address, rig.oid)
    recording("handleNotification", {"pendingNotification": b64(result)})
    other = rig.euicc.other_notification(1, first, rig.address)
    recording("handleNotification", {"pendingNotification": b64(other)})
    matching_second = rig.order(second)
    init = ok(initiate(recording, rig.euicc, rig.address))
    ok(authenticate(recording, rig.euicc, init, matching_second))
    cancel = rig.euicc.cancel_session(CancelSessionReason.postponed, rig.oid)
    recording("cancelSession", {"transactionId": init["transactionId"], "cancelSessionResponse": b64(cancel)})
    assert all(es9.values()), {k: len(v) for k, v in es9.items()}
    try:
        yield SmdpWorld(rig, es9, es2)
    finally:
        engine.dispose()


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
