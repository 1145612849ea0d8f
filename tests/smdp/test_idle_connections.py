"""Hundreds of idle connections to `openrsp smdp serve` (default limits) and a normal download
through them, on SQLite and PostgreSQL: the idle ones cost a little, they stop nobody."""

from __future__ import annotations

import socket

import pytest
from es9_harness import SoftEuicc, download, ok, over_https
from smdp_support import ES_HEADERS, SMDP_HOST, Served, es2_body, status_of
from wire_support import ES2_PATH, connect, health_ok

pytestmark = pytest.mark.xdist_group("smdp-served")


def test_300_idle_connections_do_not_stop_a_normal_download(served: Served, pki_dir, operator_cert, lpa_cert):
    server = served.server
    iccid = served.mine[11]
    es2 = {"cert": operator_cert, "headers": ES_HEADERS}
    assert status_of(server.post(ES2_PATH, json=es2_body(iccid=iccid), **es2))["status"] == "Executed-Success"
    confirm = server.post(
        "/gsma/rsp2/es2plus/confirmOrder", json=es2_body(iccid=iccid, releaseFlag=True), **es2
    )
    matching_id = confirm.json()["matchingId"]
    # 300 TCP connections that never start TLS, 100 more that finish the handshake and stay silent.
    idle_tcp = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(300)]
    idle_tls = [connect(server) for _ in range(100)]
    try:
        euicc = SoftEuicc.load(pki_dir, "nist")
        with server.client(lpa_cert) as http:
            run = download(over_https(http, SMDP_HOST), euicc, SMDP_HOST, matching_id)
            ok(run.bpp)
        assert euicc.open_package(run.package).profile
        assert health_ok(server)
    finally:
        for sock in idle_tcp + idle_tls:
            sock.close()
