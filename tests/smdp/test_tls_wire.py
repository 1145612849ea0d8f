"""What a device sees on the wire from `openrsp smdp serve`: each answer in one TLS record, no
session tickets after the handshake (they cost the server more than a resumption saves it), and its
first request answered at once even when its socket leaves Nagle on."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smdp_support import SMDP_HOST, SmdpServer, start_server, tls_context
from wire_support import ES9_PATH, head

pytestmark = pytest.mark.xdist_group("smdp-tls-wire")

APPLICATION_DATA = 23  # TLS record type; in TLS 1.3 every record after the handshake has it


@pytest.fixture(scope="module")
def server(pki_dir: Path, tmp_path_factory) -> Iterator[SmdpServer]:
    running = start_server(pki_dir, tmp_path_factory.mktemp("tls-wire") / "data")
    yield running
    running.stop()


class RecordCountingClient:
    """A TLS client over a memory BIO that sees every record the server sends."""

    def __init__(self, server: SmdpServer) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = tls_context(server.pki_dir).wrap_bio(
            self.incoming, self.outgoing, server_hostname=SMDP_HOST
        )
        self.raw = b""
        self.records_after_handshake: list[int] = []
        self._handshake()

    def _flush(self) -> None:
        if data := self.outgoing.read():
            self.sock.sendall(data)

    def _next_record(self) -> tuple[int, bytes]:
        while len(self.raw) < 5 or len(self.raw) < 5 + int.from_bytes(self.raw[3:5], "big"):
            chunk = self.sock.recv(65536)
            assert chunk, "the server closed the connection"
            self.raw += chunk
        size = 5 + int.from_bytes(self.raw[3:5], "big")
        record, self.raw = self.raw[:size], self.raw[size:]
        return record[0], record

    def _handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self.incoming.write(self._next_record()[1])
        self._flush()

    def exchange(self, request: bytes) -> bytes:
        """Send a request; the complete answer (it has a Content-Length)."""
        self.tls.write(request)
        self._flush()
        answer = b""
        while True:
            kind, record = self._next_record()
            self.records_after_handshake.append(kind)
            self.incoming.write(record)
            with contextlib.suppress(ssl.SSLWantReadError):  # a record that carried no data for us
                answer += self.tls.read(65536)
            head_part, found, body = answer.partition(b"\r\n\r\n")
            if found:
                length = next(
                    int(line.split(b":")[1])
                    for line in head_part.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                )
                if len(body) >= length:
                    return answer

    def close(self) -> None:
        self.sock.close()


def test_each_answer_is_one_tls_record_and_no_ticket_follows_the_handshake(server):
    client = RecordCountingClient(server)
    try:
        health = client.exchange(head("/openrsp/health", method="GET"))
        assert health.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in health
        refused = client.exchange(head(ES9_PATH, "Content-Length: 2\r\n") + b"{}")
        assert refused.startswith(b"HTTP/1.1 200") and b'"Failed"' in refused  # euiccChallenge is missing
        # Two answers, two records: no NewSessionTicket records, and head and body travel together.
        assert client.records_after_handshake == [APPLICATION_DATA, APPLICATION_DATA]
        assert client.tls.session is not None and not client.tls.session.has_ticket
    finally:
        client.close()


def test_a_client_that_leaves_nagle_on_is_answered_without_a_delayed_ack_wait(server):
    """With no session ticket the server sends nothing after the handshake; unless it acknowledges
    the client's Finished at once, a client with Nagle on (no TCP_NODELAY, the default of many
    socket APIs) holds its first request until the server's delayed-ACK timer: 40 ms or more on
    every connection. The best of five connections shows whether that wait is there."""
    context = tls_context(server.pki_dir)
    request = head("/openrsp/health", method="GET")
    first_answers = []
    for _ in range(5):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # Nagle on
        with context.wrap_socket(raw, server_hostname=SMDP_HOST) as tls:
            started = time.perf_counter()
            tls.sendall(request)
            answer = b""
            while b'"status"' not in answer:
                chunk = tls.recv(65536)
                assert chunk, "the server closed the connection"
                answer += chunk
            first_answers.append(time.perf_counter() - started)
    assert min(first_answers) < 0.030, [f"{1000 * t:.1f} ms" for t in first_answers]
