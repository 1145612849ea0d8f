"""Filling the SM-DP+ inventory fast for the benchmark: straight into the tables, in bulk.

The ES2+ path (downloadOrder + confirmOrder per profile) costs milliseconds per profile; the
benchmark needs thousands of released orders per run and a million profiles for the ordering
test. So profiles go in through `db.profiles.add_profiles` (the import path: sealed package and
Ki/OPc, the same rows an import writes) and orders with SQLAlchemy Core, already Released, as
confirmOrder with releaseFlag would leave them. Nothing is written to the `events` log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, update

from openrsp.bench.loadgen import ReleasedOrder
from openrsp.errors import InputError
from openrsp.hexutil import to_hex
from openrsp.profile.identifiers import encode_header_iccid, encode_iccid, luhn_check_digit
from openrsp.profile.package import ProfilePackage
from openrsp.rspserver.ids import utcnow
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp.db import operators
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.models import Order, Profile
from openrsp.smdp.db.models import ProfilePackage as SealedPackage
from openrsp.smdp.db.profiles import NewProfile, add_profiles
from openrsp.smdp.states import State

BENCH_PROFILE_TYPE = "bench"
_profiles = Profile.__table__
_orders = Order.__table__
_packages = SealedPackage.__table__
CHUNK = 1000


def bench_iccid(block: int, serial: int) -> str:
    """A 19-digit ICCID (89 999 + 4-digit block + 9-digit serial + Luhn), unique per (block, serial)."""
    body = f"89999{block:04d}{serial:09d}"
    return body + luhn_check_digit(body)


def matching_id(block: int, serial: int) -> str:
    return f"BENCH-{block:04d}-{serial:09d}"


@dataclass(frozen=True)
class PackageTemplate:
    """A real profile package whose ICCID (ProfileHeader and EF.ICCID) can be swapped for another."""

    der: bytes
    iccid: str

    @classmethod
    def load(cls, path: Path) -> PackageTemplate:
        der = path.read_bytes()
        package = ProfilePackage.from_der(der)
        template = cls(der, package.iccid)
        for encoded in (encode_header_iccid(template.iccid), encode_iccid(template.iccid)):
            if der.count(encoded) != 1:
                raise InputError(f"{path.name}: its ICCID does not appear exactly once in each form")
        return template

    def with_iccid(self, iccid: str) -> bytes:
        if len(iccid) != len(self.iccid):
            raise InputError(f"the replacement ICCID must have {len(self.iccid)} digits")
        der = self.der.replace(encode_header_iccid(self.iccid), encode_header_iccid(iccid))
        return der.replace(encode_iccid(self.iccid), encode_iccid(iccid))


def _chunks(count: int, size: int = CHUNK) -> Iterator[range]:
    for start in range(0, count, size):
        yield range(start, min(count, start + size))


def stock_released_orders(
    database: SmdpDatabase,
    template: PackageTemplate,
    count: int,
    *,
    block: int,
    operator: str = "default",
    profile_type: str = BENCH_PROFILE_TYPE,
    now: datetime | None = None,
) -> list[ReleasedOrder]:
    """`count` profiles from the template, each with a Released order and its own matchingId."""
    now = now or utcnow()
    orders: list[ReleasedOrder] = []
    for serials in _chunks(count):
        records = [
            NewProfile(
                iccid=bench_iccid(block, serial),
                package=template.with_iccid(bench_iccid(block, serial)),
                profile_type=profile_type,
                spn="openrsp bench",
                profile_name=f"bench {serial}",
            )
            for serial in serials
        ]
        add_profiles(database, records, operator)
        batch = {bench_iccid(block, serial): matching_id(block, serial) for serial in serials}
        with database.transaction() as db:
            ids = dict(
                db.execute(
                    select(_profiles.c.iccid, _profiles.c.id).where(_profiles.c.iccid.in_(list(batch)))
                ).all()
            )
            rows = [_released_order(ids[iccid], mid, now) for iccid, mid in batch.items()]
            db.execute(insert(_orders), rows)
            db.execute(
                update(_profiles)
                .where(_profiles.c.iccid.in_(list(batch)))
                .values(state=State.RELEASED.value, updated_at=now)
            )
        orders.extend(ReleasedOrder(iccid, mid) for iccid, mid in batch.items())
    return orders


def _released_order(profile_id: int, match: str, now: datetime) -> dict[str, object]:
    return {
        "profile_id": profile_id,
        "eid": None,
        "matching_id": match,
        "cc_hash": None,
        "cc_attempts": 0,
        "cc_max_attempts": 3,
        "download_attempts": 0,
        "max_download_attempts": 5,
        "expires_at": None,
        "release_flag": True,
        "smds_address": None,
        "created_at": now,
        "updated_at": now,
    }


def count_profiles(engine: Engine, profile_type: str) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(_profiles).where(_profiles.c.profile_type == profile_type)
        return int(connection.execute(query).scalar() or 0)


def fill_available(
    database: SmdpDatabase,
    count: int,
    *,
    block: int,
    operator: str = "default",
    profile_type: str = BENCH_PROFILE_TYPE,
    package: bytes = b"",
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> None:
    """`count` Available profiles (serials from `start`), chunk by chunk, each chunk one transaction.

    For the ordering benchmark: downloadOrder reads the row, never the package, so the rows carry
    `package` (sealed per row like any package) — by default an empty one, to keep a million rows
    small on disk.
    """
    sealer: Sealer = database.sealer
    with database.transaction() as db:
        operator_id = operators.ensure_operator(db, operator, utcnow()).id
    secrets = json.dumps(
        {"algorithm": "milenage", "ki": to_hex(bytes(16)), "opc": to_hex(bytes(16))}
    ).encode()
    now = utcnow()
    done = 0
    for serials in _chunks(count, 5000):
        rows = []
        for serial in serials:
            iccid = bench_iccid(block, start + serial)
            rows.append(
                {
                    "iccid": iccid,
                    "operator_id": operator_id,
                    "profile_type": profile_type,
                    "state": State.AVAILABLE.value,
                    "package": sealer.seal(package, f"package/{iccid}"),
                    "secrets": sealer.seal(secrets, f"secrets/{iccid}"),
                    "imsi": f"99999{start + serial:010d}",
                    "msisdn": None,
                    "spn": "openrsp bench",
                    "profile_name": None,
                    "profile_class": "operational",
                    "icon_type": None,
                    "icon": None,
                    "extra": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with database.transaction() as db:
            db.execute(insert(_profiles), [{k: v for k, v in row.items() if k != "package"} for row in rows])
            db.execute(
                insert(_packages), [{"iccid": row["iccid"], "package": row["package"]} for row in rows]
            )
        done += len(rows)
        if progress is not None:
            progress(done)


def reset_orders(database: SmdpDatabase, profile_type: str = BENCH_PROFILE_TYPE) -> None:
    """Put every profile of this type back to Available, without orders (a cached inventory reused)."""
    with database.transaction() as db:
        ordered = select(_profiles.c.id).where(
            _profiles.c.profile_type == profile_type, _profiles.c.state != State.AVAILABLE.value
        )
        ids = list(db.execute(ordered).scalars())
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            db.execute(_orders.delete().where(_orders.c.profile_id.in_(chunk)))
            db.execute(update(_profiles).where(_profiles.c.id.in_(chunk)).values(state=State.AVAILABLE.value))
