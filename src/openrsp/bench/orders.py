"""ES2+ downloadOrder with a large inventory (a million profiles), on SQLite and on PostgreSQL.

The inventory is filled once, in bulk (openrsp.bench.stock.fill_available), and kept between runs
in the benchmark's data folder (SQLite) or in its own PostgreSQL database; before each run the
profiles the previous run ordered go back to Available. Then the real SM-DP+ answers
downloadOrder over HTTPS with the operator's client certificate, one call after the other: by
profile type (the SM-DP+ picks a free profile) and by ICCID (a random one of the million).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import psycopg

from openrsp.bench.https import Connection
from openrsp.bench.server import endpoint_for, start_server, write_config
from openrsp.bench.stats import latency_summary
from openrsp.bench.stock import bench_iccid, count_profiles, fill_available, reset_orders
from openrsp.errors import OpenRSPError
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database

ORDER_PROFILE_TYPE = "bench-inventory"
ORDER_BLOCK = 7  # ICCID block of the inventory profiles (the download runs use others)
ES2_PATH = "/gsma/rsp2/es2plus/downloadOrder"


class OrderBenchError(OpenRSPError):
    """downloadOrder did not succeed during the benchmark."""


def ensure_pg_database(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server of admin_url, created when missing."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def prepare_inventory(
    data_dir: Path, pki_dir: Path, count: int, *, db_url: str | None = None, log: Any = print
) -> dict[str, Any]:
    """Make the inventory hold `count` Available profiles of the benchmark type (fill what is missing)."""
    config = load_config(write_config(data_dir, pki_dir, port=0, db_url=db_url))
    database = open_database(config)
    try:
        have = count_profiles(database.engine, ORDER_PROFILE_TYPE)
        start = time.perf_counter()
        if have < count:
            log(f"  filling the inventory: {have} → {count} profiles …")
            step = max(count // 10, 1)

            def progress(done: int) -> None:
                if done % step < 5000:
                    log(f"    {have + done} profiles")

            fill_available(
                database,
                count - have,
                block=ORDER_BLOCK,
                profile_type=ORDER_PROFILE_TYPE,
                start=have,
                progress=progress,
            )
        filled = time.perf_counter() - start
        reset_orders(database, ORDER_PROFILE_TYPE)
        return {
            "profiles": max(have, count),
            "filled_now": max(count - have, 0),
            "fill_seconds": round(filled, 1),
        }
    finally:
        database.engine.dispose()


async def _order_calls(endpoint: Any, bodies: list[dict[str, Any]]) -> list[float]:
    connection = Connection(endpoint)
    latencies = []
    try:
        for body in bodies:
            start = time.perf_counter()
            response = await connection.post_json(ES2_PATH, body)
            latencies.append(time.perf_counter() - start)
            status = response.json().get("header", {}).get("functionExecutionStatus", {})
            if response.status != 200 or status.get("status") != "Executed-Success":
                raise OrderBenchError(f"downloadOrder failed: HTTP {response.status} {status}")
    finally:
        await connection.close()
    return latencies


def _body(call: int, **fields: str) -> dict[str, Any]:
    header = {"functionRequesterIdentifier": "openrsp-bench", "functionCallIdentifier": str(call)}
    return {"header": header, **fields}


def bench_download_order(
    data_dir: Path,
    pki_dir: Path,
    *,
    inventory: int,
    calls: int,
    db_url: str | None = None,
    seed: int = 8,
    log: Any = print,
) -> dict[str, Any]:
    """downloadOrder latency (p50/p99) by profile type and by ICCID with `inventory` profiles."""
    filled = prepare_inventory(data_dir, pki_dir, inventory, db_url=db_url, log=log)
    server = start_server(data_dir, pki_dir, db_url=db_url)
    try:
        client = (
            str(pki_dir / "operator-tls" / "client.cert.pem"),
            str(pki_dir / "operator-tls" / "client.key.pem"),
        )
        endpoint = endpoint_for(pki_dir, server.endpoint.port, client_cert=client)
        rng = random.Random(seed)
        by_type = [_body(i, profileType=ORDER_PROFILE_TYPE) for i in range(calls)]
        # ICCIDs from the whole inventory, away from the low serials that ordering by type takes
        serials = rng.sample(range(calls + 1, inventory), min(calls, max(inventory - calls - 1, 0)))
        by_iccid = [_body(calls + i, iccid=bench_iccid(ORDER_BLOCK, s)) for i, s in enumerate(serials)]
        asyncio.run(_order_calls(endpoint, by_type[:5]))  # warm-up: TLS, code paths
        type_latencies = asyncio.run(_order_calls(endpoint, by_type[5:]))
        iccid_latencies = asyncio.run(_order_calls(endpoint, by_iccid))
    finally:
        server.stop()
    return {
        "database": "postgresql" if db_url else "sqlite",
        "inventory": filled["profiles"],
        "fill_seconds": filled["fill_seconds"] if filled["filled_now"] else None,
        "by_profile_type_ms": latency_summary(type_latencies),
        "by_iccid_ms": latency_summary(iccid_latencies),
    }
