"""Fuzz target: the request head as `openrsp smdp serve` reads it.

The protocol decides on each head (method, URL, HTTP version, Content-Length, Transfer-Encoding,
Expect) whether the ES9+ function answers it directly or through the ASGI cycle, before anything
else reads the request. Each input is a real-shaped ES9+ request with its head built from pieces
that are wrong in the ways clients get them wrong (leading zeros, two lengths, signs, spaces,
chunked with a length, an unknown method or version, a query, escapes, long paths) and a body
that may be shorter or longer than declared. Over TLS to a real server, every input must be
answered (any status) or closed within the deadline; afterwards the log has no traceback and no
ERROR, and a well-formed request is still answered.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_support import DEADLINE, EXAMPLES, Tally, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from smdp_support import SMDP_HOST, SmdpServer, start_server, tls_context

pytestmark = pytest.mark.xdist_group("fuzz-http-head")

# Short timeouts: a body shorter than its Content-Length is cut off in a moment, not after 30 s.
LIMITS = """
[limits]
header_timeout_seconds = 1
body_timeout_seconds = 0.5
keep_alive_timeout_seconds = 1
max_header_bytes = 16384
max_body_bytes = 65536
"""
BODY = b'{"euiccChallenge":"AAAAAAAAAAAAAAAAAAAAAA==","euiccInfo1":"vyAA","smdpAddress":"x"}'
ES9 = "/gsma/rsp2/es9plus/"


@pytest.fixture(scope="module")
def server(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmdpServer]:
    base = tmp_path_factory.mktemp("fuzz-http")
    (base / "smdp.toml").write_text(LIMITS)
    running = start_server(pki_dir, base / "data", "--config", str(base / "smdp.toml"))
    yield running
    running.stop()


# Mostly what the direct lane takes (POST to an ES9+ function), so that its decisions are what varies.
methods = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "post", "POSTX", "HEAD"])
paths = st.one_of(
    st.sampled_from(
        [
            *[ES9 + "initiateAuthentication"] * 4,
            ES9 + "handleNotification",
            ES9 + "noSuchFunction",
            ES9,
            ES9 + "initiateAuthentication/extra",
            "/gsma/rsp2/es2plus/downloadOrder",
            "/openrsp/health",
        ]
    ).flatmap(
        lambda path: st.sampled_from(["", "?a=1", "%41", "/", "#x", "?" + "q" * 3000]).map(
            lambda tail: path + tail
        )
    ),
    st.text(alphabet="/%?#abcAZ09.-_~", max_size=200).map(lambda text: "/" + text),
)
versions = st.sampled_from(["HTTP/1.1"] * 4 + ["HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/1.1x"])


def _length_lines(draw: st.DrawFn, size: int) -> list[str]:
    value = draw(
        st.sampled_from(
            [
                str(size),
                "0" * draw(st.integers(1, 6000)) + str(size),
                "-1",
                "+" + str(size),
                f" {size} ",
                "99999999999999999999999",
                "0x10",
                str(size + draw(st.integers(1, 70000))),
                str(max(size - draw(st.integers(1, 40)), 0)),
                "",
            ]
        )
    )
    lines = [f"Content-Length: {value}"]
    if draw(st.booleans()) and draw(st.booleans()):
        lines.append(f"Content-Length: {draw(st.sampled_from([str(size), '0', value]))}")
    return lines if draw(st.integers(0, 9)) else []


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    body = draw(st.sampled_from([BODY, b"", b"{}", BODY * 3, BODY[:10]]))
    head = [f"{draw(methods)} {draw(paths)} {draw(versions)}", f"Host: {SMDP_HOST}"]
    extra = [
        "Content-Type: application/json",
        "X-Admin-Protocol: gsma/rsp/v2.2.0",
        *_length_lines(draw, len(body)),
    ]
    if draw(st.integers(0, 5)) == 0:
        extra.append(
            draw(st.sampled_from(["Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked"]))
        )
    if draw(st.integers(0, 5)) == 0:
        extra.append("Expect: 100-continue")
    if draw(st.integers(0, 5)) == 0:
        extra.append(draw(st.sampled_from(["Connection: close", "Connection: keep-alive, Upgrade"])))
    lines = head + draw(st.permutations(extra))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _answered_or_closed(server: SmdpServer, request: bytes) -> None:
    """Send the request; return once a whole answer came back or the server closed; fail if
    neither happens within the deadline (a hang)."""
    deadline = time.monotonic() + DEADLINE
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as raw,
        tls_context(server.pki_dir).wrap_socket(raw, server_hostname=SMDP_HOST) as sock,
    ):
        try:
            sock.sendall(request)
        except (ConnectionError, ssl.SSLError):
            return  # closed while we were sending: an answer too
        data = b""
        while time.monotonic() < deadline:
            head, found, rest = data.partition(b"\r\n\r\n")
            if found:
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                if length is None or len(rest) >= int(length.group(1)):
                    return
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except (ConnectionError, ssl.SSLError):
                return
            if not chunk:
                return
            data += chunk
    pytest.fail(f"neither answered nor closed within {DEADLINE} s: {request[:300]!r}")


def test_fuzz_smdp_request_head(server: SmdpServer):
    tally = Tally("http:request-head")

    @fuzz_settings(min(150, EXAMPLES))  # each input is a TLS connection
    @given(request=requests())
    def one(request: bytes) -> None:
        _answered_or_closed(server, request)
        tally.count()

    one()
    tally.write()
    log = server.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    ok = (
        f"POST {ES9}initiateAuthentication HTTP/1.1\r\nHost: {SMDP_HOST}\r\n"
        f"Content-Type: application/json\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\n"
        f"Content-Length: 2\r\n\r\n{{}}"
    ).encode()
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        tls_context(server.pki_dir).wrap_socket(raw, server_hostname=SMDP_HOST) as sock,
    ):
        sock.sendall(ok)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
