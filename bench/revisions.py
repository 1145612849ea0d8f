"""Evaluation only: server CPU per complete download of two revisions of openrsp, served at the same
time and loaded in turn (slices A B B A …), so that both see the same load on a shared machine.

    .venv/bin/python bench/revisions.py --base /path/to/other/checkout/src [--shipped] [--rounds 8]

`--base` is the `src` folder of the other revision (a `git worktree` or `git archive` of it): its
server runs with that folder first on PYTHONPATH, the other with this checkout. P-256, 1 worker,
8 devices, SQLite, a new eUICC and a new TLS connection per download, as `openrsp bench` measures
it; `--shipped`: both servers with `smdp serve`'s shipped defaults (log level info). Prints one
line of JSON: each side's CPU ms per download per slice, the medians, and the median of the
per-round ratios (this revision over the base).
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openrsp.bench.card import FleetContext
from openrsp.bench.downloads import stock
from openrsp.bench.fleet import build_fleet
from openrsp.bench.loadgen import run_load
from openrsp.bench.procstat import CpuMeter
from openrsp.bench.runner import DEFAULT_PACKAGE, bench_pki, default_data_dir, shared_dir
from openrsp.bench.server import RunningServer, start_server
from openrsp.bench.stock import PackageTemplate

DEVICES = 8
MAX_RATE = 300  # downloads per second a side could reach here: how many orders to stock


class _Shared:
    """One side's remaining work, consumed slice after slice (run_load takes what it needs)."""

    def __init__(self, items: Iterator[Any]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        return self.items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True, help="the src folder of the other revision")
    parser.add_argument("--shipped", action="store_true")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--slice", type=float, default=2.5, help="seconds of load per slice")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir() / "revisions")
    args = parser.parse_args()
    pki = bench_pki(args.data_dir)
    template = PackageTemplate.load(shared_dir() / "profiles" / "ts48" / DEFAULT_PACKAGE)
    per_side = int(args.rounds * args.slice * MAX_RATE) + 50
    fleet = build_fleet(pki, "nist", 2 * per_side)
    context = FleetContext(fleet)
    sides: dict[str, dict[str, Any]] = {}
    try:
        for index, (name, pythonpath) in enumerate((("base", str(args.base.resolve())), ("this", ""))):
            data = args.data_dir / name
            shutil.rmtree(data, ignore_errors=True)
            orders = stock(data, pki, template, per_side, 300 + index)
            if name == "base":
                _schema_as_base_knows_it(data, pythonpath)
            members = fleet.members[index * per_side : (index + 1) * per_side]
            server = start_server(data, pki, shipped=args.shipped, env={"PYTHONPATH": pythonpath})
            sides[name] = {"server": server, "work": _Shared(iter(zip(members, orders, strict=True)))}
            sides[name]["slices"] = []
        for side in sides.values():  # warm-up: TLS, code paths, the EUM chain cache
            _slice(side["server"], context, side["work"], 0.5)
        load = os.getloadavg()
        for round_ in range(args.rounds):
            for name in ("base", "this") if round_ % 2 == 0 else ("this", "base"):
                side = sides[name]
                side["slices"].append(_slice(side["server"], context, side["work"], args.slice))
        base, this = sides["base"]["slices"], sides["this"]["slices"]
        print(
            json.dumps(
                {
                    "shipped_defaults": args.shipped,
                    "load_average": [round(x, 2) for x in (*load, *os.getloadavg())],
                    "base_ms_per_download": base,
                    "this_ms_per_download": this,
                    "median_base": statistics.median(base),
                    "median_this": statistics.median(this),
                    "median_ratio": round(
                        statistics.median(b / a for a, b in zip(base, this, strict=True)), 4
                    ),
                }
            )
        )
    finally:
        for side in sides.values():
            side["server"].stop()


def _schema_as_base_knows_it(data: Path, base_src: str) -> None:
    """The orders are stocked by this checkout, at its newest migration: take the base's database
    down to the newest one the base knows (this checkout has every older migration)."""
    from alembic import command
    from alembic.config import Config

    from openrsp.rspserver.database import sqlite_url
    from openrsp.smdp.db.engine import MIGRATIONS_DIR, make_engine, schema_revision

    known = subprocess.run(
        [sys.executable, "-c", "from openrsp.smdp.db.engine import HEAD_REVISION; print(HEAD_REVISION)"],
        env={**os.environ, "PYTHONPATH": base_src},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    engine = make_engine(sqlite_url(data / "smdp.sqlite"))
    try:
        if schema_revision(engine) != known:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, known)
    finally:
        engine.dispose()


def _slice(server: RunningServer, context: FleetContext, work: _Shared, seconds: float) -> float:
    """Load `server` for `seconds`; its CPU ms per download in that time."""
    meter = CpuMeter(server.pid)
    meter.start()
    result = asyncio.run(
        run_load(
            server.endpoint,
            context,
            work,  # type: ignore[arg-type]
            smdp_address=server.endpoint.server_name,
            concurrency=DEVICES,
            duration=seconds,
        )
    )
    cpu = meter.stop()
    if result.failures:
        raise SystemExit(f"{result.failures} downloads failed")
    return round(1000 * cpu / max(result.downloads, 1), 3)


if __name__ == "__main__":
    main()
