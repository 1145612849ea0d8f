"""Many nodes: two `openrsp smdp serve` processes (separate ports, as separate hosts would be) on one
PostgreSQL share all state. Downloads run across both, each ES9+ call of one download on the other
node than the call before; one node dies (SIGKILL) with a download half done, and the other carries
on. Nothing is lost and nothing is done twice: every profile is installed once, every package
delivered once, every progress report reaches the operator under its idempotency key (once, or, for a report the
dead node sent in the moment before it died, twice under the same key)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg
import pytest
from es9_harness import (
    TS48_PROFILE,
    SoftEuicc,
    authenticate,
    b64,
    get_bpp,
    initiate,
    ok,
    over_https,
    serve,
    unb64,
)
from smdp_support import SMDP_HOST, CallbackServer, create_database, drop_database

from openrsp.pki.credentials import SmdpCredentials
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db import operators
from openrsp.smdp.db.profiles import add_profiles
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.rows import NewProfile

PROFILES = 6


@pytest.fixture
def pg_url():
    url = create_database("openrsp_nodes")
    try:
        yield url
    finally:
        drop_database(url)


def _ordered_profiles(data: Path, db_url: str, package: bytes, callback_url: str) -> dict[str, str]:
    """PROFILES released orders of the default operator, who wants progress reports; ICCID → matchingId."""
    database = open_database(load_config(data_dir=data, db_url=db_url))
    try:
        with database.transaction() as connection:
            operators.ensure_operator(connection, "default", database.clock(), callback_url=callback_url)
        iccids = [f"8900012345678{n:06d}" for n in range(PROFILES)]
        add_profiles(
            database,
            [NewProfile(iccid, package, spn="openrsp", profile_name=iccid) for iccid in iccids],
            "default",
        )
        es2 = Es2Service(database, operator="default", address=SMDP_HOST)
        orders = {}
        for iccid in iccids:
            es2.download_order({"iccid": iccid})
            orders[iccid] = es2.confirm_order({"iccid": iccid, "releaseFlag": True})["matchingId"]
        return orders
    finally:
        database.engine.dispose()


def _rows(db_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return list(conn.execute(sql))


def test_two_nodes_share_everything_and_one_dies_with_a_download_half_done(
    pki_dir, ts48_dir, tmp_path, pg_url
):
    package = (ts48_dir / TS48_PROFILE).read_bytes()
    operator = CallbackServer()
    node_dirs = [tmp_path / "node-a", tmp_path / "node-b"]
    orders = _ordered_profiles(node_dirs[0], pg_url, package, operator.url)
    node_dirs[1].mkdir(mode=0o700)
    shutil.copy2(node_dirs[0] / "kek.key", node_dirs[1] / "kek.key")  # one KEK for the deployment
    ca = pki_dir / "nist" / "ci.cert.pem"
    nodes = [serve(pki_dir, data, ca, SMDP_HOST, "--db", pg_url) for data in node_dirs]
    clients = [node.client() for node in nodes]
    calls = [over_https(client, SMDP_HOST) for client in clients]
    oid = SmdpCredentials.load(pki_dir).oid
    euicc = SoftEuicc.load(pki_dir, "nist")
    try:
        iccids = list(orders)
        for n, iccid in enumerate(iccids[:-2]):  # both alive: every call on the other node
            first, second = calls[n % 2], calls[(n + 1) % 2]
            init = ok(initiate(first, euicc, SMDP_HOST))
            auth = ok(authenticate(second, euicc, init, orders[iccid]))
            bpp = ok(get_bpp(first, euicc, auth))
            assert euicc.open_package(unb64(bpp["boundProfilePackage"])).profile == package
            ok(
                second(
                    "handleNotification",
                    {"pendingNotification": b64(euicc.install_result(iccid, SMDP_HOST, oid, seq=n + 1))},
                )
            )

        # A download half done on node A (authenticated there); then A dies, no goodbye.
        half = iccids[-2]
        init = ok(initiate(calls[0], euicc, SMDP_HOST))
        auth = ok(authenticate(calls[0], euicc, init, orders[half]))
        nodes[0].process.kill()
        nodes[0].process.wait(10)
        survivor = calls[1]
        bpp = ok(get_bpp(survivor, euicc, auth))  # the LPA carries on at the other node
        assert euicc.open_package(unb64(bpp["boundProfilePackage"])).profile == package
        ok(
            survivor(
                "handleNotification",
                {"pendingNotification": b64(euicc.install_result(half, SMDP_HOST, oid, seq=PROFILES - 1))},
            )
        )
        last = iccids[-1]
        init = ok(initiate(survivor, euicc, SMDP_HOST))
        auth = ok(authenticate(survivor, euicc, init, orders[last]))
        bpp = ok(get_bpp(survivor, euicc, auth))
        ok(
            survivor(
                "handleNotification",
                {"pendingNotification": b64(euicc.install_result(last, SMDP_HOST, oid, seq=PROFILES))},
            )
        )

        # Every report, also those node A wrote and never sent, reaches the operator: node B sends them.
        expected = 3 * PROFILES  # eligibility check, package delivered, installed
        deadline = time.monotonic() + 90  # a report A had claimed waits for its lease (30 s) to end
        while len(operator.bodies) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # and nothing more comes: no report twice
    finally:
        for client in clients:
            client.close()
        for node in nodes:
            node.stop()
        operator.close()

    states = _rows(
        pg_url,
        "SELECT p.iccid, p.state, o.download_attempts FROM profiles p JOIN orders o ON o.profile_id = p.id",
    )
    assert sorted(states) == sorted((iccid, "Installed", 1) for iccid in orders)
    events = _rows(pg_url, "SELECT iccid, event FROM events WHERE event IN ('bppDelivered', 'installed')")
    assert sorted(events) == sorted(
        (iccid, event) for iccid in orders for event in ("bppDelivered", "installed")
    )
    stored = _rows(pg_url, "SELECT iccid FROM notifications")
    assert sorted(stored) == sorted((iccid,) for iccid in orders)

    # What the operator sees, one report per idempotency key. A report the dead node had sent but not
    # yet recorded as delivered is sent again by the survivor once its lease ends, under the same
    # key: that one may arrive twice (at least once, deduplicated by the key), no other.
    by_key: dict[str, list[dict]] = {}
    for body in operator.bodies:
        by_key.setdefault(body["header"]["functionCallIdentifier"], []).append(body)
    keys = list(by_key)
    assert len(keys) == 3 * PROFILES, keys
    repeated = [copies for copies in by_key.values() if len(copies) > 1]
    assert len(repeated) <= 1 and all(len(copies) == 2 for copies in repeated), repeated
    assert all(copy == copies[0] for copies in repeated for copy in copies)  # the same report again
    reports = sorted((copies[0]["iccid"], copies[0]["notificationPointId"]) for copies in by_key.values())
    assert reports == sorted((iccid, point) for iccid in orders for point in (1, 3, 4))
    outbox = _rows(
        pg_url, "SELECT idempotency_key, state FROM outbox WHERE kind = 'es2.handleDownloadProgressInfo'"
    )
    assert sorted(outbox) == sorted((key, "delivered") for key in keys)
