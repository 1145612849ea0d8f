"""Workers keep no state: two workers serve the same orders, and a restart loses nothing."""

from __future__ import annotations

import time

import httpx
import pytest
from smdp_support import (
    ES_HEADERS,
    SMDP_HOST,
    create_database,
    drop_database,
    es2_body,
    start_server,
    status_of,
    tls_context,
)

from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.inventory import import_packages


def fresh_post(server, cert, path: str, **fields) -> dict:
    """One request on a new TLS connection (so the kernel may hand it to either worker)."""
    with httpx.Client(verify=tls_context(server.pki_dir, cert), timeout=30) as http:
        response = http.post(
            server.url + path,
            json=es2_body(**fields),
            headers=ES_HEADERS,
            extensions={"sni_hostname": SMDP_HOST},
        )
    assert status_of(response)["status"] == "Executed-Success", response.text
    return response.json()


def worker_pids(server, within: float = 30.0) -> set[int]:
    """The workers answering new connections, asked until two have answered or `within` seconds have
    passed: the second worker may still be starting when the first already answers (a busy machine)."""
    pids: set[int] = set()
    deadline = time.monotonic() + within
    while len(pids) < 2 and time.monotonic() < deadline:
        with httpx.Client(verify=tls_context(server.pki_dir), timeout=30) as http:
            pids.add(
                http.get(server.url + "/openrsp/health", extensions={"sni_hostname": SMDP_HOST}).json()["pid"]
            )
        time.sleep(0.02)
    return pids


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_workers_serve_the_same_orders(backend, pki_dir, tmp_path, ts48_dir, operator_cert):
    db_url = create_database() if backend == "postgresql" else None
    try:
        database = open_database(load_config(data_dir=tmp_path / "data", db_url=db_url))
        iccids = import_packages(database, sorted(ts48_dir.glob("*-UNIQUE.der"))[:6], operator="default")
        database.engine.dispose()
        server = start_server(
            pki_dir, tmp_path / "data", "--workers", "2", *(["--db", db_url] if db_url else [])
        )
        try:
            assert len(worker_pids(server)) == 2
            for iccid in iccids:
                fresh_post(server, operator_cert, "/gsma/rsp2/es2plus/downloadOrder", iccid=iccid)
                fresh_post(
                    server, operator_cert, "/gsma/rsp2/es2plus/confirmOrder", iccid=iccid, releaseFlag=False
                )
                fresh_post(server, operator_cert, "/gsma/rsp2/es2plus/releaseProfile", iccid=iccid)
            for iccid in iccids:
                state = fresh_post(server, operator_cert, "/openrsp/es2plus/profileStatus", iccid=iccid)[
                    "state"
                ]
                assert state == "Released"
        finally:
            server.stop()
    finally:
        if db_url:
            drop_database(db_url)


def test_a_restart_keeps_every_order(pki_dir, tmp_path, ts48_dir, operator_cert):
    config = tmp_path / "smdp.toml"
    config.write_text(f'data_dir = "data"\ncredentials = "{pki_dir}"\ncc_max_attempts = 7\n')
    database = open_database(load_config(config))
    (iccid,) = import_packages(database, [ts48_dir / "TS48V2-SAIP2-1-BERTLV-UNIQUE.der"], operator="default")
    database.engine.dispose()

    first = start_server(pki_dir, tmp_path / "data", "--config", str(config))
    try:
        fresh_post(first, operator_cert, "/gsma/rsp2/es2plus/downloadOrder", iccid=iccid)
        answer = fresh_post(
            first,
            operator_cert,
            "/gsma/rsp2/es2plus/confirmOrder",
            iccid=iccid,
            confirmationCode="1",
            releaseFlag=True,
        )
    finally:
        first.stop()
    second = start_server(pki_dir, tmp_path / "data", "--config", str(config))
    try:
        status = fresh_post(second, operator_cert, "/openrsp/es2plus/profileStatus", iccid=iccid)
    finally:
        second.stop()
    assert (status["state"], status["matchingId"], status["ccRequired"], status["ccMaxAttempts"]) == (
        "Released",
        answer["matchingId"],
        True,
        7,
    )
