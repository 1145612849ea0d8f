"""One download-throughput configuration: curve × server workers × concurrent devices.

A fresh data folder and a fresh `openrsp smdp serve` per configuration; released orders stocked
in bulk before the server starts; a short warm-up (TLS and code paths, caches of the EUM chain),
then the measured part, bounded by a duration and by the orders stocked. The server CPU is
read from /proc for the server's process tree just around the measured part.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from openrsp.bench.card import FleetContext
from openrsp.bench.fleet import Fleet
from openrsp.bench.loadgen import FUNCTIONS, LoadResult, ReleasedOrder, run_load
from openrsp.bench.procstat import CpuMeter
from openrsp.bench.server import RunningServer, ServerError, start_server, write_config
from openrsp.bench.stats import latency_summary
from openrsp.bench.stock import PackageTemplate, stock_released_orders
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database

CPUS = os.cpu_count() or 1


@dataclass(frozen=True)
class DownloadConfig:
    curve: str
    workers: int
    concurrency: int
    duration: float  # seconds of measured load (fewer if the orders run out first)
    max_downloads: int  # orders stocked for the measured part
    warmup: int  # downloads before measuring
    pg_admin_url: str | None = None  # PostgreSQL (a fresh database per run) instead of SQLite
    shipped: bool = False  # `openrsp smdp serve` with its shipped defaults (log level info)
    front: str | None = None  # name of another server front (bench/fronts/), run as `command`
    command: tuple[str, ...] | None = None  # instead of `openrsp smdp serve`; gets `--config FILE`

    @property
    def name(self) -> str:
        database = "pg" if self.pg_admin_url else "sqlite"
        extra = (f"-{self.front}" if self.front else "") + ("-shipped" if self.shipped else "")
        return f"{database}-{self.curve}-w{self.workers}-c{self.concurrency}{extra}"


def fresh_pg_database(admin_url: str, name: str) -> str:
    """An empty database `name` (dropped first if it exists); its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def pg_backends(admin_url: str, database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` (its connections)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [row[0] for row in rows]


def stock(
    data_dir: Path,
    pki_dir: Path,
    template: PackageTemplate,
    count: int,
    block: int,
    db_url: str | None = None,
) -> list[ReleasedOrder]:
    """Released orders in a fresh SM-DP+ data folder (the server is not running yet)."""
    config = load_config(write_config(data_dir, pki_dir, port=0, db_url=db_url))
    database = open_database(config)
    try:
        return stock_released_orders(database, template, count, block=block)
    finally:
        database.engine.dispose()


def run_config(
    config: DownloadConfig,
    *,
    pki_dir: Path,
    work_dir: Path,
    template: PackageTemplate,
    fleet: Fleet,
    block: int,
    cancel_sessions: int = 0,
) -> dict[str, Any]:
    """Measure one configuration; the JSON object of the `runs` list."""
    data_dir = work_dir / f"smdp-{config.name}"
    shutil.rmtree(data_dir, ignore_errors=True)
    needed = config.warmup + config.max_downloads + cancel_sessions
    if len(fleet) < needed:
        raise ValueError(f"the fleet has {len(fleet)} eUICCs, the run needs {needed}")
    database = f"openrsp_bench_{config.name.replace('-', '_')}"
    db_url = fresh_pg_database(config.pg_admin_url, database) if config.pg_admin_url else None
    orders = stock(data_dir, pki_dir, template, needed, block, db_url)
    work = list(zip(fleet.members, orders, strict=False))
    warmup, measured = work[: config.warmup], work[config.warmup : config.warmup + config.max_downloads]
    context = FleetContext(fleet)
    server = start_server(
        data_dir,
        pki_dir,
        workers=config.workers,
        db_url=db_url,
        shipped=config.shipped,
        command=list(config.command) if config.command else None,
    )
    db_meters: list[CpuMeter] = []
    try:
        address = server.endpoint.server_name
        if warmup:
            asyncio.run(
                run_load(
                    server.endpoint, context, warmup, smdp_address=address, concurrency=config.concurrency
                )
            )
        if config.pg_admin_url:  # the database server's own work, counted apart from the SM-DP+'s
            db_meters = [CpuMeter(pid, tree=False) for pid in pg_backends(config.pg_admin_url, database)]
            for meter in db_meters:
                meter.start()
        result, server_cpu, client_cpu = _measure(server, context, measured, config)
        db_cpu = sum(meter.stop() for meter in db_meters)
        cancel = None
        if cancel_sessions:
            rest = work[config.warmup + config.max_downloads :]
            cancel = asyncio.run(
                run_load(server.endpoint, context, rest, smdp_address=address, concurrency=1, cancel=True)
            )
    finally:
        server.stop()
    run = _report(config, result, server_cpu, client_cpu, cancel)
    if config.pg_admin_url:
        run["database"] = "postgresql"
        run["database_cpu_ms_per_download"] = (
            round(1000 * db_cpu / result.downloads, 3) if result.downloads else None
        )
    return run


def _measure(
    server: RunningServer, context: FleetContext, work: list[Any], config: DownloadConfig
) -> tuple[LoadResult, dict[str, float], float]:
    meter = CpuMeter(server.pid)
    meter.start()
    client_start = time.process_time()
    result = asyncio.run(
        run_load(
            server.endpoint,
            context,
            work,
            smdp_address=server.endpoint.server_name,
            concurrency=config.concurrency,
            duration=config.duration,
        )
    )
    client_cpu = time.process_time() - client_start
    return result, meter.stop_by_process(), client_cpu


def _report(
    config: DownloadConfig,
    result: LoadResult,
    server_cpu_by_process: dict[str, float],
    client_cpu: float,
    cancel: LoadResult | None,
) -> dict[str, Any]:
    done = result.downloads
    server_cpu = sum(server_cpu_by_process.values())
    run: dict[str, Any] = {
        "front": config.front or "openrsp smdp serve",
        "shipped_defaults": config.shipped,
        "curve": config.curve,
        "workers": config.workers,
        "concurrency": config.concurrency,
        "downloads": done,
        "failures": result.failures,
        "seconds": round(result.elapsed, 3),
        "downloads_per_second": round(done / result.elapsed, 1) if result.elapsed else 0.0,
        "server_cpu_ms_per_download": round(1000 * server_cpu / done, 3) if done else None,
        # every server-side process counted (a proxy in front, every worker), here by name
        "server_cpu_ms_by_process": {
            name: round(1000 * seconds / done, 3) for name, seconds in sorted(server_cpu_by_process.items())
        }
        if done
        else {},
        # what the server alone could do with every core of this machine (no load generator on it)
        "server_bound_downloads_per_second": round(CPUS * done / server_cpu, 1) if server_cpu else None,
        "client_cpu_ms_per_download": round(1000 * client_cpu / done, 3) if done else None,
        "latency_ms": {
            name: latency_summary(result.latencies.get(name, [])) for name in (*FUNCTIONS, "download")
        },
    }
    if result.failure_examples:
        run["failure_examples"] = result.failure_examples
    if cancel is not None:
        run["cancel_session"] = {
            "flows": cancel.downloads,
            "failures": cancel.failures,
            "latency_ms": latency_summary(cancel.latencies.get("cancelSession", [])),
        }
        if cancel.failure_examples:
            run["cancel_session"]["failure_examples"] = cancel.failure_examples
    return run


def run_phase_split(
    config: DownloadConfig,
    *,
    pki_dir: Path,
    work_dir: Path,
    template: PackageTemplate,
    fleet: Fleet,
    block: int,
) -> dict[str, Any]:
    """Server CPU per download split by phase, from the timed server (one process)."""
    data_dir = work_dir / f"smdp-phases-{config.curve}-c{config.concurrency}"
    shutil.rmtree(data_dir, ignore_errors=True)
    needed = config.warmup + config.max_downloads
    orders = stock(data_dir, pki_dir, template, needed, block)
    work = list(zip(fleet.members, orders, strict=False))
    snapshot = data_dir / "phases.json"
    command = [sys.executable, "-m", "openrsp.bench.phase_server", "--snapshot", str(snapshot)]
    server = start_server(data_dir, pki_dir, workers=1, command=command)
    context = FleetContext(fleet)
    try:
        asyncio.run(
            run_load(
                server.endpoint,
                context,
                work[: config.warmup],
                smdp_address=server.endpoint.server_name,
                concurrency=config.concurrency,
            )
        )
        before = read_phases(server, snapshot)
        result, by_process, _client_cpu = _measure(server, context, work[config.warmup :], config)
        after = read_phases(server, snapshot)
    finally:
        server.stop()
    done = max(result.downloads, 1)
    server_cpu = sum(by_process.values())
    phases = {name: 1000 * (after[name] - before[name]) / done for name in after}
    phases["http_and_event_loop"] = 1000 * server_cpu / done - sum(phases.values())
    return {
        "curve": config.curve,
        "workers": 1,
        "concurrency": config.concurrency,
        "downloads": result.downloads,
        "failures": result.failures,
        "server_cpu_ms_per_download": round(1000 * server_cpu / done, 3),
        "phases_ms_per_download": {name: round(value, 3) for name, value in phases.items()},
    }


def read_phases(server: RunningServer, snapshot: Path, timeout: float = 10) -> dict[str, float]:
    """Ask the timed server for its phase totals (SIGUSR1) and read them."""
    previous = snapshot.stat().st_mtime_ns if snapshot.exists() else 0
    server.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if snapshot.exists() and snapshot.stat().st_mtime_ns != previous:
            return json.loads(snapshot.read_text())["phases"]
        time.sleep(0.02)
    raise ServerError("the timed SM-DP+ wrote no phase snapshot")
