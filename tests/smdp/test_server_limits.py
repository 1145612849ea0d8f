"""Server limits of `openrsp smdp serve` ([limits] in the TOML), as a client on the wire sees them.

Slow or idle connections are closed after the configured time, oversized heads and bodies are
refused while they arrive, a connection over the cap gets a clear 503, SIGTERM ends the server
within its bound while a client holds a half-sent request (hundreds of idle connections against a
download: test_idle_connections.py). Loopback only; every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smdp_support import ES_HEADERS, SmdpServer, codes_of, es2_body, start_server
from wire_support import (
    ES2_PATH,
    ES9_PATH,
    closed,
    connect,
    head,
    health_ok,
    parse_response,
    read_until_closed,
)

pytestmark = pytest.mark.xdist_group("smdp-limits")

SHORT_LIMITS = """
[limits]
header_timeout_seconds = 1.5
body_timeout_seconds = 2
keep_alive_timeout_seconds = 1
max_header_bytes = 8192
max_body_bytes = 65536
max_connections = 200
shutdown_timeout_seconds = 2
"""


def _server_with(limits: str, base: Path, pki_dir: Path) -> SmdpServer:
    config = base / "smdp.toml"
    config.write_text(limits)
    return start_server(pki_dir, base / "data", "--config", str(config))


@pytest.fixture(scope="module")
def limited(pki_dir: Path, tmp_path_factory) -> Iterator[SmdpServer]:
    server = _server_with(SHORT_LIMITS, tmp_path_factory.mktemp("limits"), pki_dir)
    yield server
    server.stop()


# -- slow and idle connections ------------------------------------------------------------------


def test_a_connection_that_never_sends_a_request_is_closed_after_the_header_timeout(limited):
    with connect(limited) as sock:
        status, _, body = parse_response(read_until_closed(sock, within=10))
    assert status == 408, body


def test_a_request_head_sent_one_byte_at_a_time_is_cut_off(limited):
    """Slowloris: the head keeps coming, but too slowly; the server stops waiting for it."""
    data = head(ES9_PATH, "X-Padding: " + "a" * 200 + "\r\n")
    with connect(limited) as sock:
        _trickle_until_cut_off(sock, data)


def _trickle_until_cut_off(sock, data: bytes) -> None:
    """Send `data` a byte per 0.1 s (250 bytes would take 25 s); the server must close first."""
    for index in range(len(data)):
        if closed(sock):
            break
        try:
            sock.sendall(data[index : index + 1])
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the server waited for the whole head at one byte per 0.1 s")
    assert index < len(data) - 100  # cut off well before the head was complete


def test_a_second_request_head_sent_one_byte_at_a_time_is_cut_off(limited):
    """The same on a kept-alive connection, after a request that came whole (and armed no timer)."""
    data = head(ES9_PATH, "X-Padding: " + "a" * 200 + "\r\n")
    with connect(limited) as sock:
        sock.sendall(head("/openrsp/health", method="GET"))
        sock.settimeout(10)
        first = b""
        while b'"status":"ok"' not in first:
            first += sock.recv(65536)
        _trickle_until_cut_off(sock, data)


def test_a_body_sent_after_its_head_too_slowly_closes_the_connection(limited):
    with connect(limited) as sock:
        sock.sendall(head(ES9_PATH, "Content-Length: 100\r\n"))
        time.sleep(0.3)  # the head alone first, then the body in pieces that never complete it
        for _ in range(40):
            if closed(sock):
                break
            try:
                sock.sendall(b" ")
            except OSError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the server waited 4 s for a body with body_timeout_seconds = 2")


def test_a_body_that_does_not_arrive_closes_the_connection(limited):
    with connect(limited) as sock:
        sock.sendall(head(ES9_PATH, "Content-Length: 100\r\n") + b'{"euicc')
        assert read_until_closed(sock, within=10) == b""


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(limited):
    with connect(limited) as sock:
        sock.sendall(head("/openrsp/health", method="GET"))
        sock.settimeout(10)
        first = b""
        while b'"status":"ok"' not in first:  # head and body may come in two TLS records
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        assert read_until_closed(sock, within=10) == b""


# -- sizes -----------------------------------------------------------------------------------


def test_an_oversized_request_head_gets_431_and_is_not_buffered(limited):
    with connect(limited) as sock:
        sock.sendall(head("/openrsp/health", method="GET")[:-2])
        sent, answer = 0, bytearray()
        try:
            while sent < 50 << 20 and not closed(sock, answer) and not answer:  # 50 MiB if all read
                sock.sendall(b"X-Big: " + b"a" * 16384 + b"\r\n")
                sent += 16393
        except OSError:
            pass
        status, headers, _ = parse_response(bytes(answer) + read_until_closed(sock, within=10))
    assert status == 431
    assert headers["connection"] == "close"
    assert sent < 16 << 20  # refused after 8 KiB; the rest sent meanwhile sat in socket buffers
    assert health_ok(limited)


def _stream_chunked(sock: ssl.SSLSocket, total: int, answer: bytearray) -> int:
    """Send up to `total` bytes of chunked body; stop when the server answers. Bytes sent."""
    sent = 0
    chunk = b"[" * 16384
    try:
        while sent < total and not closed(sock, answer) and not answer:
            sock.sendall(b"4000\r\n" + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:
        pass
    return sent


@pytest.mark.parametrize("path", [ES9_PATH, ES2_PATH])
def test_a_100_mb_chunked_body_is_refused_while_it_arrives(limited, operator_cert, path):
    with connect(limited, operator_cert) as sock:
        sock.sendall(head(path, "Transfer-Encoding: chunked\r\n"))
        answer = bytearray()
        sent = _stream_chunked(sock, 100 << 20, answer)
        status, headers, body = parse_response(bytes(answer) + read_until_closed(sock, within=10))
    assert status == 200
    assert headers["connection"] == "close"
    answer = json.loads(body)["header"]["functionExecutionStatus"]
    assert answer["status"] == "Failed"
    assert (answer["statusCodeData"]["subjectCode"], answer["statusCodeData"]["reasonCode"]) == (
        "1.3.1",
        "2.1",
    )
    # The limit is 64 KiB: the answer came long before 100 MB (what was sent meanwhile sat in the
    # loopback's socket buffers, a few MiB at most).
    assert sent < 16 << 20
    assert health_ok(limited)


@pytest.mark.parametrize("path", [ES9_PATH, ES2_PATH])
def test_a_declared_100_mb_body_is_refused_before_it_is_sent(limited, operator_cert, path):
    with connect(limited, operator_cert) as sock:
        sock.sendall(head(path, f"Content-Length: {100 << 20}\r\n"))
        status, headers, body = parse_response(read_until_closed(sock, within=10))
    assert status == 200 and headers["connection"] == "close"
    assert json.loads(body)["header"]["functionExecutionStatus"]["statusCodeData"]["reasonCode"] == "2.1"


def test_a_body_within_the_limit_is_served_as_before(limited, operator_cert):
    response = limited.post(
        ES2_PATH, cert=operator_cert, json=es2_body(iccid="8900000000000000000"), headers=ES_HEADERS
    )
    assert codes_of(response) == ("8.2.1", "3.9")


def test_each_refusal_is_one_warning_line_in_the_log_and_no_traceback(limited, operator_cert):
    since = len(limited.log.read_text())
    with connect(limited) as sock:
        sock.sendall(head("/openrsp/health", "X-Big: " + "a" * 20000 + "\r\n", method="GET"))
        assert parse_response(read_until_closed(sock, within=10))[0] == 431
    with connect(limited, operator_cert) as sock:
        sock.sendall(head(ES2_PATH, f"Content-Length: {100 << 20}\r\n"))
        assert parse_response(read_until_closed(sock, within=10))[0] == 200
    lines = limited.log.read_text()[since:].splitlines()
    assert "Traceback" not in "\n".join(lines)
    assert [line for line in lines if line.startswith("WARNING")] == [
        next(line for line in lines if "431: request head from" in line and "(max_header_bytes)" in line),
        next(
            line
            for line in lines
            if "ES2+ downloadOrder" in line and "refused: 1.3.1/2.1: request body over 65536" in line
        ),
    ]


# -- the connection cap and the shutdown ------------------------------------------------------------

CAPPED_LIMITS = """
[limits]
header_timeout_seconds = 60
body_timeout_seconds = 60
max_connections = 5
shutdown_timeout_seconds = 2
"""


def test_connections_over_the_cap_get_a_clear_503_and_the_others_keep_working(pki_dir, tmp_path):
    server = _server_with(CAPPED_LIMITS, tmp_path, pki_dir)
    try:
        holders = [connect(server) for _ in range(5)]
        with connect(server) as extra:
            extra.sendall(head("/openrsp/health", method="GET"))
            status, headers, body = parse_response(read_until_closed(extra, within=10))
        assert (status, headers["connection"], headers["retry-after"]) == (503, "close", "5")
        assert b"connection limit" in body
        # A connection that was already open is served.
        holders[0].sendall(head("/openrsp/health", method="GET"))
        holders[0].settimeout(10)
        assert holders[0].recv(65536).startswith(b"HTTP/1.1 200")  # the head comes first
        for sock in holders:
            sock.close()
        deadline = time.monotonic() + 10
        while not health_ok(server):  # capacity is back once the holders are gone
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "503: 5 connections open (max_connections)" in server.log.read_text()
    finally:
        server.stop()


def test_sigterm_ends_the_server_within_its_bound_while_clients_hold_partial_requests(pki_dir, tmp_path):
    server = _server_with(CAPPED_LIMITS, tmp_path, pki_dir)
    try:
        half_head = connect(server)
        half_head.sendall(head(ES9_PATH)[:40])
        half_body = connect(server)
        half_body.sendall(head(ES9_PATH, "Content-Length: 1000\r\n") + b'{"euiccChallenge"')
        idle = connect(server)  # a kept-alive connection between two requests
        idle.sendall(head("/openrsp/health", method="GET"))
        idle.settimeout(10)
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)  # the requests are in the server's hands
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)  # without a bound it waits for the clients, forever
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not stop within 15 s of SIGTERM")
        assert time.monotonic() - started < 15
        # uvicorn ends a graceful shutdown by re-raising the signal it caught
        assert server.process.returncode in (0, -signal.SIGTERM)
        assert read_until_closed(half_body, within=5) == b""
        log = server.log.read_text()
        assert "Finished server process" in log
        assert "graceful shutdown exceeded" not in log  # nothing had to be cancelled
        assert "Traceback" not in log
        for sock in (half_head, half_body, idle):
            sock.close()
    finally:
        server.stop()
