"""ES9+ requests that arrive whole are answered without the ASGI request cycle (rspserver/protocol.py,
`direct_route`); what a device sees must not depend on which way a request went: the same bytes,
in order when requests are pipelined, the connection kept or closed as asked, one access line each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from smdp_support import SmdpServer, start_server
from wire_support import ES9_PATH, connect, head, read_until_closed

pytestmark = pytest.mark.xdist_group("smdp-direct")

BODY = b'{"euiccChallenge":"AAAA"}'  # refused (euiccInfo1 is missing): the same answer every time


@pytest.fixture(scope="module")
def server(pki_dir: Path, tmp_path_factory) -> Iterator[SmdpServer]:
    running = start_server(pki_dir, tmp_path_factory.mktemp("direct") / "data")  # log level info
    yield running
    running.stop()


def _whole(path: str = ES9_PATH, extra: str = "", body: bytes = BODY) -> bytes:
    """A request with a Content-Length: the direct lane."""
    return head(path, f"Content-Length: {len(body)}\r\n{extra}") + body


def _chunked(body: bytes = BODY) -> bytes:
    """The same request with a chunked body: the ASGI cycle."""
    return head(ES9_PATH, "Transfer-Encoding: chunked\r\n") + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _answers(sock, count: int) -> list[bytes]:
    """`count` complete answers (each has a Content-Length) read off the connection, in order."""
    data, answers = b"", []
    while len(answers) < count:
        head_part, found, rest = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head_part) if found else None
        if length and len(rest) >= int(length.group(1)):
            size = len(head_part) + 4 + int(length.group(1))
            answers.append(data[:size])
            data = data[size:]
            continue
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {len(answers)} answers"
        data += chunk
    assert not data, f"more than {count} answers: {data[:200]!r}"
    return answers


def _without_date(answer: bytes) -> bytes:
    return re.sub(rb"(?im)^date: [^\r]*\r\n", b"", answer)


def test_an_es9_answer_is_the_same_bytes_whichever_way_the_request_went(server):
    with connect(server) as sock:
        sock.sendall(_whole())
        (direct,) = _answers(sock, 1)
        sock.sendall(_chunked())
        (through_asgi,) = _answers(sock, 1)
    assert direct.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"status":"Failed"' in direct and b"euiccInfo1 is missing" in direct
    assert re.search(rb"(?im)^date: ", direct)  # the server's default headers too
    assert _without_date(direct) == _without_date(through_asgi)


def test_pipelined_requests_are_answered_in_order_and_the_connection_stays_usable(server):
    other = b'{"euiccChallenge":"AAAA","euiccInfo1":"AAAA"}'  # refused differently: smdpAddress missing
    with connect(server) as sock:
        sock.sendall(_whole() + _whole(body=other) + _chunked())
        first, second, third = _answers(sock, 3)
        assert b"euiccInfo1 is missing" in first
        assert b"smdpAddress is missing" in second
        assert b"euiccInfo1 is missing" in third
        sock.sendall(_whole(body=other))
        (fourth,) = _answers(sock, 1)
    assert b"smdpAddress is missing" in fourth


def test_a_request_that_asks_to_close_is_answered_then_closed(server):
    with connect(server) as sock:
        sock.sendall(_whole(extra="Connection: close\r\n"))
        data = read_until_closed(sock, within=5)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert re.search(rb"(?im)^connection: close\r\n", data)
    assert b"euiccInfo1 is missing" in data


def test_each_direct_answer_has_its_access_line(server):
    marker = "/gsma/rsp2/es9plus/authenticateClient"
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(_whole(path=marker, body=b"{}"))
            (answer,) = _answers(sock, 1)
            assert b"transactionId is missing" in answer
    lines = [line for line in server.log.read_text().splitlines() if f'"POST {marker} HTTP/1.1" 200' in line]
    assert len(lines) == 3, server.log.read_text()[-2000:]


def test_an_unknown_function_and_a_body_over_the_limit_are_answered_as_before(server):
    with connect(server) as sock:
        sock.sendall(_whole(path="/gsma/rsp2/es9plus/noSuchFunction"))
        (unknown,) = _answers(sock, 1)
    assert unknown.startswith(b"HTTP/1.1 404 ")
    assert b'"subjectCode":"8.8.1"' in unknown or b"unknown ES9+ function" in unknown
    with connect(server) as sock:  # a declared length past max_body_bytes takes the ASGI cycle
        sock.sendall(head(ES9_PATH, f"Content-Length: {64 * 1024 * 1024}\r\n"))
        data = read_until_closed(sock, within=10)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b'"status":"Failed"' in data


def test_a_client_gone_before_its_answer_leaves_the_server_well(server):
    """Requests sent whole, the connection dropped before the answers: nothing breaks, nothing is
    logged as an error, and the next client is answered."""
    for _ in range(20):
        sock = connect(server)
        sock.sendall(_whole() * 3)  # the second and third wait behind the first
        sock.close()
    with connect(server) as sock:
        sock.sendall(_whole())
        (answer,) = _answers(sock, 1)
    assert b"euiccInfo1 is missing" in answer
    log = server.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log[-2000:]


def test_a_content_length_with_thousands_of_leading_zeros_is_answered_as_before(server):
    """The HTTP parser takes leading zeros; the length is not turned into a number before its
    size is known (Python refuses to read integers of more than 4,300 digits)."""
    with connect(server) as sock:
        sock.sendall(head(ES9_PATH, f"Content-Length: {'0' * 5000}{len(BODY)}\r\n") + BODY)
        data = read_until_closed(sock, within=10)
    # the ES9+ framing's own refusal (1.3.1/2.1, as for any declared length it will not read), not
    # the HTTP parser's 400 that a failing int() inside its callback would have caused
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"subjectCode":"1.3.1","reasonCode":"2.1"' in data
    assert "Traceback" not in server.log.read_text()
