"""What `openrsp bench` runs, in which sizes, and the document it produces.

`quick` is a small version of everything (well under a minute): the numbers are real but few.
The full run measures every configuration the issue asks for; it keeps its test PKI and the
million-profile inventories in the data folder, so later runs skip the slow fill.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from openrsp.bench.downloads import DownloadConfig, run_config, run_phase_split
from openrsp.bench.euicc_bpp import bench_packages
from openrsp.bench.fleet import Fleet, build_fleet
from openrsp.bench.floor import crypto_floor
from openrsp.bench.generation import bench_generation
from openrsp.bench.orders import bench_download_order, ensure_pg_database
from openrsp.bench.report import targets
from openrsp.bench.stats import latency_summary
from openrsp.bench.stock import PackageTemplate
from openrsp.pki.testpki import init_pki

SECTIONS = ("downloads", "phases", "euicc", "generation", "orders")
DEFAULT_PACKAGE = "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORDERS_DATABASE = "openrsp_bench_orders"


@dataclass(frozen=True)
class Plan:
    quick: bool
    curves: tuple[str, ...] = ("nist", "brp")
    workers: tuple[int, ...] = (1, 2)
    concurrency: tuple[int, ...] = (1, 8, 64)
    duration: float = 15.0  # seconds of measured load per configuration
    download_databases: tuple[str, ...] = ("sqlite",)  # and/or "postgresql"
    shipped_run: bool = True  # one more run: `openrsp smdp serve` with its shipped defaults
    max_downloads: dict[str, int] = field(default_factory=lambda: {"nist": 4000, "brp": 2500})
    cancel_sessions: int = 100
    phase_downloads: dict[str, int] = field(default_factory=lambda: {"nist": 1500, "brp": 400})
    phase_concurrency: int = 8
    euicc_packages: int | None = None  # None: every TS.48 package
    euicc_repeat: int = 3
    subscribers: int = 100_000
    inventory: int = 1_000_000
    order_calls: int = 500
    postgres: bool = True

    @classmethod
    def full(cls, **changes: Any) -> Plan:
        return cls(quick=False, **changes)

    @classmethod
    def small(cls, **changes: Any) -> Plan:
        values: dict[str, Any] = {
            "workers": (1,),
            "concurrency": (1, 8),
            "duration": 2.0,
            "max_downloads": {"nist": 30, "brp": 12},
            "cancel_sessions": 5,
            "phase_downloads": {"nist": 30, "brp": 10},
            "phase_concurrency": 4,
            "euicc_packages": 2,
            "euicc_repeat": 1,
            "subscribers": 300,
            "inventory": 5_000,
            "order_calls": 30,
            "postgres": False,
        }
        values.update(changes)
        return cls(quick=True, **values)

    def warmup(self, concurrency: int) -> int:
        return min(2 * concurrency, 8) if self.quick else max(2 * concurrency, 20)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openrsp" / "bench"


def shared_dir() -> Path:
    """The read-only inputs (TS.48 packages): $OPENRSP_SHARED, else ../shared next to the checkout."""
    if os.environ.get("OPENRSP_SHARED"):
        return Path(os.environ["OPENRSP_SHARED"])
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "profiles" / "ts48"
        if candidate.is_dir():
            return parent / "shared"
    return Path.cwd().parent / "shared"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "platform": platform.platform(),
        "http_parser": "httptools",  # what `smdp serve` always runs (openrsp.rspserver.protocol)
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def sqlite_commit_ms(folder: Path, commits: int = 200) -> dict[str, float]:
    """How long a small SQLite commit takes here (WAL, synchronous FULL, as the SM-DP+ runs it):
    the disk's fsync, which bounds an SQLite SM-DP+ (three commits per download, one at a time)."""
    path = folder / "commit-probe.sqlite"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, value BLOB)")
        times = []
        for _ in range(commits):
            start = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO probe (value) VALUES (?)", (bytes(512),))
            connection.execute("COMMIT")
            times.append(time.perf_counter() - start)
    finally:
        connection.close()
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    summary = latency_summary(times)
    return {"p50": summary["p50"], "p99": summary["p99"]}


def bench_pki(data_dir: Path) -> Path:
    """The benchmark's own test PKI (both curves), made once and kept."""
    pki_dir = data_dir / "pki"
    if not (pki_dir / "index.json").exists():
        init_pki(pki_dir, force=True)
    return pki_dir


def postgres_available(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


class Bench:
    """Runs the sections of a plan and collects the document."""

    def __init__(
        self,
        plan: Plan,
        *,
        data_dir: Path,
        ts48_dir: Path,
        pg_url: str = PG_ADMIN_URL,
        log: Callable[[str], None] = print,
    ) -> None:
        self.plan = plan
        self.data_dir = data_dir
        self.ts48_dir = ts48_dir
        self.pg_url = pg_url
        self.log = log
        self.work_dir = data_dir / ("quick" if plan.quick else "full")
        self.notes: list[str] = []
        self._fleets: dict[str, Fleet] = {}

    def run(self, sections: tuple[str, ...] = SECTIONS) -> dict[str, Any]:
        started = time.perf_counter()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pki_dir = bench_pki(self.data_dir)
        self.template = PackageTemplate.load(self.ts48_dir / DEFAULT_PACKAGE)
        document: dict[str, Any] = {
            "openrsp_bench": 1,
            "quick": self.plan.quick,
            "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": {**machine(), "sqlite_commit_ms": sqlite_commit_ms(self.data_dir)},
            "profile_package": {"name": DEFAULT_PACKAGE, "bytes": len(self.template.der)},
            "runs": [],
        }
        if "downloads" in sections:
            document["crypto_floor"] = crypto_floor(self.pki_dir, self.plan.curves)
            document["runs"], document["cancel_session"] = self.downloads()
        if "phases" in sections:
            document["phases"] = self.phases()
        if "euicc" in sections:
            document["euicc_bpp"] = self.euicc()
        if "generation" in sections:
            document["generation"] = self.generation()
        if "orders" in sections:
            document["download_order"] = self.orders()
        document["notes"] = self.notes
        document["targets"] = targets(document)
        document["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        document["seconds"] = round(time.perf_counter() - started, 1)
        return document

    # -- sections ------------------------------------------------------------------------------

    def fleet(self, curve: str, size: int) -> Fleet:
        fleet = self._fleets.get(curve)
        if fleet is None or len(fleet) < size:
            self.log(f"issuing {size} {curve} eUICC certificates …")
            fleet = self._fleets[curve] = build_fleet(self.pki_dir, curve, size)
        return fleet

    def downloads(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        plan = self.plan
        runs = []
        cancel = None
        block = 100
        databases = list(plan.download_databases)
        if "postgresql" in databases and not postgres_available(self.pg_url):
            self.notes.append(
                f"PostgreSQL at {self.pg_url} did not answer: downloads measured on SQLite only"
            )
            databases = [d for d in databases if d != "postgresql"] or ["sqlite"]
        for database in databases:
            for curve in plan.curves:
                most = plan.max_downloads[curve] + plan.warmup(max(plan.concurrency)) + plan.cancel_sessions
                fleet = self.fleet(curve, most)
                combos = [(w, c, False) for w in plan.workers for c in plan.concurrency]
                if plan.shipped_run and curve == "nist" and database == databases[0]:
                    combos.append((1, 8, True))  # `openrsp smdp serve` as shipped: log level info
                for workers, concurrency, shipped in combos:
                    config = DownloadConfig(
                        curve,
                        workers,
                        concurrency,
                        plan.duration,
                        plan.max_downloads[curve],
                        plan.warmup(concurrency),
                        self.pg_url if database == "postgresql" else None,
                        shipped=shipped,
                    )
                    first = (database, curve, workers, concurrency, shipped) == (
                        databases[0],
                        "nist",
                        1,
                        1,
                        False,
                    )
                    what = "shipped defaults, " if shipped else ""
                    self.log(
                        f"downloads: {database}, {curve}, {what}{workers} worker(s), {concurrency} device(s) …"
                    )
                    run = run_config(
                        config,
                        pki_dir=self.pki_dir,
                        work_dir=self.work_dir,
                        template=self.template,
                        fleet=fleet,
                        block=block,
                        cancel_sessions=plan.cancel_sessions if first else 0,
                    )
                    block += 1
                    cancel = run.pop("cancel_session", cancel)
                    self.log(
                        f"  {run['downloads']} downloads, {run['downloads_per_second']}/s, "
                        f"server {run['server_cpu_ms_per_download']} ms CPU each"
                    )
                    runs.append(run)
        return runs, cancel

    def phases(self) -> list[dict[str, Any]]:
        splits = []
        for index, curve in enumerate(self.plan.curves):
            count = self.plan.phase_downloads[curve]
            fleet = self.fleet(curve, count + self.plan.warmup(self.plan.phase_concurrency))
            config = DownloadConfig(
                curve,
                1,
                self.plan.phase_concurrency,
                3600.0,
                count,
                self.plan.warmup(self.plan.phase_concurrency),
            )
            self.log(f"phase split: {curve} …")
            splits.append(
                run_phase_split(
                    config,
                    pki_dir=self.pki_dir,
                    work_dir=self.work_dir,
                    template=self.template,
                    fleet=fleet,
                    block=90 + index,
                )
            )
        return splits

    def euicc(self) -> list[dict[str, Any]]:
        files = sorted(self.ts48_dir.glob("*.der"))
        if self.plan.euicc_packages is not None:
            files = files[: self.plan.euicc_packages]
        self.log(f"eUICC: loading {len(files)} TS.48 packages …")
        return bench_packages(
            files, pki_dir=self.pki_dir, work_dir=self.work_dir, repeat=self.plan.euicc_repeat
        )

    def generation(self) -> dict[str, Any]:
        self.log(f"profile generation: {self.plan.subscribers:,} subscribers …")
        return bench_generation(
            self.plan.subscribers, work_dir=self.work_dir / "generation", pki_dir=self.pki_dir
        )

    def orders(self) -> list[dict[str, Any]]:
        plan = self.plan
        size = f"{plan.inventory // 1000}k"
        results = []
        self.log(f"downloadOrder with {plan.inventory:,} profiles (SQLite) …")
        results.append(
            bench_download_order(
                self.data_dir / f"orders-sqlite-{size}",
                self.pki_dir,
                inventory=plan.inventory,
                calls=plan.order_calls,
                log=self.log,
            )
        )
        if not plan.postgres:
            return results
        if not postgres_available(self.pg_url):
            self.notes.append(
                f"PostgreSQL at {self.pg_url} did not answer: downloadOrder measured on SQLite only"
            )
            return results
        self.log(f"downloadOrder with {plan.inventory:,} profiles (PostgreSQL) …")
        url = ensure_pg_database(self.pg_url, f"{ORDERS_DATABASE}_{size}")
        results.append(
            bench_download_order(
                self.data_dir / f"orders-postgresql-{size}",
                self.pki_dir,
                inventory=plan.inventory,
                calls=plan.order_calls,
                db_url=url,
                log=self.log,
            )
        )
        return results


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
