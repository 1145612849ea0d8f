"""Evaluation only: the SM-DP+'s ES9+ path of complete downloads in one process, without HTTP.

Each download is what `openrsp bench`'s devices do (openrsp.bench.loadgen): initiateAuthentication,
authenticateClient, getBoundProfilePackage, handleNotification, a new eUICC each time (the SM-DP+
verifies a new eUICC certificate per download; the EUM is the same). The SM-DP+'s side of each call
is timed in thread CPU time: reading the JSON body, `Es9Service`, writing the JSON answer; the
card's work between the calls is not. SQLite as `openrsp bench` runs it (WAL, synchronous FULL, one
writer process): the commits' system CPU is in the figure. Every round ends by checking that each
measured download left its profile Installed.

    .venv/bin/python bench/es9_inprocess.py [--downloads 300] [--rounds 3]
    .venv/bin/python bench/es9_inprocess.py --src <other checkout>/src   # another revision's code
    .venv/bin/python bench/es9_inprocess.py --phases                      # the phase split too
    .venv/bin/python bench/es9_inprocess.py --profile out.pstats          # cProfile, CPU time

Prints ms of SM-DP+ CPU per download for each round, and their median.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Call = Callable[[str, dict[str, Any], bool], dict[str, Any]]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--downloads", type=int, default=300, help="measured downloads per round")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured downloads before them")
    parser.add_argument("--rounds", type=int, default=3, help="each with a fresh SM-DP+ database")
    parser.add_argument("--curve", default="nist")
    parser.add_argument(
        "--phases", action="store_true", help="split the CPU by phase (bench/phases.py timers)"
    )
    parser.add_argument("--profile", type=Path, help="cProfile (CPU time) the measured calls into this file")
    parser.add_argument("--src", type=Path, help="import openrsp from this src folder instead")
    parser.add_argument("--work", type=Path, help="folder for the PKI and databases (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.src:
        sys.path.insert(0, str(args.src.resolve()))

    from openrsp.bench.fleet import build_fleet
    from openrsp.bench.runner import DEFAULT_PACKAGE, shared_dir
    from openrsp.bench.stock import PackageTemplate
    from openrsp.pki.testpki import init_pki

    timers = _install_phase_timers() if args.phases else None
    work = args.work or Path(tempfile.mkdtemp(prefix="es9-inprocess-"))
    pki_dir = work / "pki"
    if not (pki_dir / args.curve).is_dir():
        init_pki(pki_dir, curves=(args.curve,), force=True)
    template = PackageTemplate.load(shared_dir() / "profiles" / "ts48" / DEFAULT_PACKAGE)
    per_round = args.warmup + args.downloads
    fleet = build_fleet(pki_dir, args.curve, per_round * args.rounds)
    print(f"openrsp from {Path(sys.modules['openrsp'].__file__ or '').parent}", file=sys.stderr)
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    store_ns = _time_the_store()

    results: list[float] = []
    outside: list[float] = []
    for round_no in range(args.rounds):
        before = timers.snapshot() if timers is not None else {}
        members = fleet.members[round_no * per_round : (round_no + 1) * per_round]
        server_ns, in_store = _round(
            work, pki_dir, template, fleet, members, round_no, args.warmup, profiler, store_ns
        )
        ms, rest = server_ns / 1e6 / args.downloads, (server_ns - in_store) / 1e6 / args.downloads
        results.append(ms)
        outside.append(rest)
        print(
            f"round {round_no + 1}: {ms:.3f} ms of SM-DP+ CPU per download, {rest:.3f} outside the store",
            file=sys.stderr,
        )
        if timers is not None:  # the warm-up downloads are in these totals too
            after = timers.snapshot()
            split = {k: (after[k] - before[k]) * 1e3 / per_round for k in after}
            print("  " + ", ".join(f"{k} {v:.3f}" for k, v in split.items()), file=sys.stderr)
    print(
        f"median {statistics.median(results):.3f} ms ({', '.join(f'{r:.3f}' for r in results)}); "
        f"outside the store {statistics.median(outside):.3f} ms ({', '.join(f'{r:.3f}' for r in outside)})"
    )
    if profiler is not None:
        profiler.dump_stats(str(args.profile))


def _round(
    work: Path,
    pki_dir: Path,
    template: Any,
    fleet: Any,
    members: tuple[Any, ...],
    round_no: int,
    warmup: int,
    profiler: cProfile.Profile | None,
    store_ns: list[int],
) -> tuple[int, int]:
    """One round on a fresh SM-DP+ data folder: the SM-DP+'s CPU nanoseconds of the measured
    downloads, and how many of them were spent in the ES9+ store (its transactions and statements)."""
    import orjson
    from sqlalchemy import func, select

    from openrsp.bench.card import FleetContext, LoadCard
    from openrsp.bench.downloads import stock
    from openrsp.bench.server import write_config
    from openrsp.rspserver.jsonapi import success
    from openrsp.smdp.config import load_config
    from openrsp.smdp.context import build_context
    from openrsp.smdp.db.models import Profile
    from openrsp.smdp.db.transactions import sole_writer_process
    from openrsp.smdp.es9.service import Es9Service
    from openrsp.smdp.states import State

    jsoncodec = sys.modules["openrsp.rspserver.jsoncodec"]  # the timed ones, with --phases
    server_loads, server_dumps = jsoncodec.load_json, jsoncodec.dump_json
    data_dir = work / f"smdp-{round_no}-{time.time_ns()}"
    orders = stock(data_dir, pki_dir, template, len(members), block=round_no + 1)
    config = load_config(write_config(data_dir, pki_dir, port=0))
    sole_writer_process(config.db_url)  # as `smdp serve` with one worker
    context = build_context(config)
    address = context.address
    fleet_context = FleetContext(fleet)
    spent = [0, 0]

    def call(function: str, body: dict[str, Any], measure: bool) -> dict[str, Any]:
        raw = orjson.dumps(body)  # the device's side (not counted; not the timed codec)
        store_before = store_ns[0]
        start = time.thread_time_ns()
        if measure and profiler is not None:
            profiler.enable()
        result = getattr(Es9Service(context), function)(server_loads(raw))
        out = server_dumps(success(dict(result or {}))) if function != "handleNotification" else b""
        if measure and profiler is not None:
            profiler.disable()
        if measure:
            spent[0] += time.thread_time_ns() - start
            spent[1] += store_ns[0] - store_before
        return orjson.loads(out) if out else {}

    try:
        for index, (euicc, order) in enumerate(zip(members, orders, strict=True)):
            _download(call, LoadCard(fleet_context, euicc), order, address, measure=index >= warmup)
        with context.database.transaction() as connection:
            installed = connection.execute(
                select(func.count()).where(Profile.__table__.c.state == State.INSTALLED.value)
            ).scalar_one()
    finally:
        context.close()
    if installed != len(members):
        raise SystemExit(f"only {installed} of {len(members)} downloads ended with the profile installed")
    return spent[0], spent[1]


def _download(call: Call, card: Any, order: Any, address: str, *, measure: bool) -> None:
    challenge, info1 = card.initiate_request()
    init = call(
        "initiateAuthentication",
        {"euiccChallenge": _b64(challenge), "euiccInfo1": _b64(info1), "smdpAddress": address},
        measure,
    )
    response = card.authenticate_server(
        _unb64(init["serverSigned1"]),
        _unb64(init["serverSignature1"]),
        _unb64(init["euiccCiPKIdToBeUsed"]),
        _unb64(init["serverCertificate"]),
        order.matching_id,
    )
    auth = call(
        "authenticateClient",
        {"transactionId": init["transactionId"], "authenticateServerResponse": _b64(response)},
        measure,
    )
    prepared = card.prepare_download(
        _unb64(auth["smdpSigned2"]), _unb64(auth["smdpSignature2"]), _unb64(auth["smdpCertificate"])
    )
    bpp = call(
        "getBoundProfilePackage",
        {"transactionId": auth["transactionId"], "prepareDownloadResponse": _b64(prepared)},
        measure,
    )
    card.open_package(_unb64(bpp["boundProfilePackage"]))
    result = card.install_result(order.iccid, address)
    call("handleNotification", {"pendingNotification": _b64(result)}, measure)


def _time_the_store() -> list[int]:
    """Count the thread CPU time spent in the ES9+ store (es9/store.py: the snapshot reads, the
    effects, the transaction's begin and commit) into the returned one-element list."""
    import contextlib
    import functools

    from openrsp.smdp.es9 import store

    spent = [0]

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.thread_time_ns() - start

        return wrapper

    for name in ("session", "session_with_profile", "profiles_for", "bound_sessions", "apply"):
        setattr(store.Es9Tx, name, timed(getattr(store.Es9Tx, name)))
    transaction = store.Es9Store.transaction

    @contextlib.contextmanager
    def timed_transaction(self: Any) -> Any:
        manager = transaction(self)
        tx = timed(manager.__enter__)()
        try:
            yield tx
        except BaseException:
            if not timed(manager.__exit__)(*sys.exc_info()):
                raise
        else:
            timed(manager.__exit__)(None, None, None)

    store.Es9Store.transaction = timed_transaction  # type: ignore[method-assign]
    return spent


def _install_phase_timers() -> Any:
    """`openrsp bench --section phases`' timers, with the ES9+ service calls outermost (what their
    inner phases do not claim is ES9+ logic) and the SM-DP+'s JSON codec as the json phase."""
    import openrsp.rspserver.jsoncodec  # noqa: F401  (imported before install: its names get replaced)
    import openrsp.smdp.es9.service  # noqa: F401
    from openrsp.bench import phases

    timers = phases.PhaseTimers()
    functions = (
        "initiateAuthentication",
        "authenticateClient",
        "getBoundProfilePackage",
        "handleNotification",
    )
    service = tuple(("openrsp.smdp.es9.service", f"Es9Service.{name}", "es9_logic") for name in functions)
    codec = (
        ("openrsp.rspserver.jsoncodec", "load_json", "json"),
        ("openrsp.rspserver.jsoncodec", "dump_json", "json"),
    )
    others = tuple(t for t in phases.TARGETS if t[0] != "openrsp.smdp.http.app")
    phases.install(timers, service + codec + others)
    return timers


if __name__ == "__main__":
    main()
