"""Profile generation: a bulk subscriber CSV turned into SAIP packages in the inventory.

The same calls as `openrsp smdp profile generate --csv` (read the CSV, make the subscriptions,
build one package per subscriber, add them all in one all-or-nothing import), each phase timed.
"""

from __future__ import annotations

import csv
import random
import shutil
import time
from pathlib import Path
from typing import Any

from openrsp.bench.server import write_config
from openrsp.profile.identifiers import luhn_check_digit
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.profiles import add_profiles
from openrsp.smdp.inventory import read_csv_rows, record_from_subscription, subscriptions_from_rows

COLUMNS = ("iccid", "imsi", "ki", "opc", "msisdn", "spn")


def write_subscriber_csv(path: Path, count: int, *, seed: int = 8) -> None:
    """`count` subscribers with their own ICCID, IMSI, Ki, OPc and MSISDN (deterministic)."""
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for serial in range(count):
            body = f"89998000{serial:010d}"
            writer.writerow(
                (
                    body + luhn_check_digit(body),
                    f"99998{serial:010d}",
                    rng.randbytes(16).hex().upper(),
                    rng.randbytes(16).hex().upper(),
                    f"4917{serial:08d}",
                    "openrsp bench",
                )
            )


def bench_generation(
    count: int, *, work_dir: Path, pki_dir: Path, db_url: str | None = None
) -> dict[str, Any]:
    """Generate `count` profiles from a CSV into a fresh inventory; rates and phase times."""
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    csv_path = work_dir / "subscribers.csv"
    write_subscriber_csv(csv_path, count)
    database = open_database(load_config(write_config(work_dir / "smdp", pki_dir, port=0, db_url=db_url)))
    try:
        start = time.perf_counter()
        subscriptions = subscriptions_from_rows(read_csv_rows(csv_path))
        parsed = time.perf_counter()
        records = [record_from_subscription(sub, profile_type="bench-generated") for sub in subscriptions]
        built = time.perf_counter()
        add_profiles(database, records, "default")
        stored = time.perf_counter()
    finally:
        database.engine.dispose()
        if db_url is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    total = stored - start
    return {
        "subscribers": count,
        "database": "postgresql" if db_url else "sqlite",
        "seconds": round(total, 3),
        "profiles_per_second": round(count / total, 1),
        "phases_seconds": {
            "read_csv": round(parsed - start, 3),
            "build_packages": round(built - parsed, 3),
            "seal_and_store": round(stored - built, 3),
        },
        "package_bytes": len(records[0].package) if records else 0,
    }
