"""The vpcd client against a stand-in for vsmartcard's vpcd: a TCP server speaking its framing."""

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from openrsp.euicc.iso7816 import DEFAULT_ATR, Iso7816Card
from openrsp.euicc.vpcd import FrameReader, VpcdClient, frame, parse_address, vpcd_answer

EID = bytes.fromhex("89049032123451234512345678901235")
TIMEOUT = 10


class SmallIsdR:
    def __init__(self) -> None:
        self.resets = 0

    def handle_es10(self, request: bytes) -> bytes:
        return bytes.fromhex("BF3E125A10") + EID

    def on_reset(self) -> None:
        self.resets += 1


class FakeVpcd:
    """Plays vpcd's side of the link: accepts the card emulator and sends it framed messages."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(TIMEOUT)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None
        self.reader = FrameReader()
        self.received: list[bytes] = []

    def accept(self) -> None:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(TIMEOUT)
        self.reader = FrameReader()

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(frame(payload))

    def ask(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.next_answer()

    def next_answer(self) -> bytes:
        assert self.conn is not None
        while not self.received:
            chunk = self.conn.recv(4096)
            assert chunk, "card emulator closed the link"
            self.received += self.reader.feed(chunk)
        return self.received.pop(0)

    def drop(self) -> None:
        assert self.conn is not None
        self.conn.close()
        self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd():
    server = FakeVpcd()
    yield server
    server.close()


@pytest.fixture
def isd_r() -> SmallIsdR:
    return SmallIsdR()


@pytest.fixture
def running_client(vpcd, isd_r):
    client = VpcdClient(Iso7816Card(isd_r), "127.0.0.1", vpcd.port, initial_backoff=0.05, max_backoff=0.2)
    thread = threading.Thread(target=client.serve_forever, daemon=True)
    thread.start()
    yield client
    client.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_frames_survive_any_tcp_split():
    stream = frame(b"\x04") + frame(bytes.fromhex("0070000001")) + frame(b"")
    reader = FrameReader()
    messages = []
    for i in range(len(stream)):
        messages += reader.feed(stream[i : i + 1])
    assert messages == [b"\x04", bytes.fromhex("0070000001"), b""]


def test_control_messages_and_apdus(isd_r):
    card = Iso7816Card(isd_r)
    assert vpcd_answer(card, b"\x04") == DEFAULT_ATR
    assert vpcd_answer(card, b"\x01") is None
    assert vpcd_answer(card, b"\x02") is None
    assert vpcd_answer(card, b"\x00") is None
    assert isd_r.resets == 3
    assert vpcd_answer(card, bytes.fromhex("0070000001")) == bytes.fromhex("019000")


def test_serves_the_card_over_tcp(vpcd, running_client, isd_r):
    vpcd.accept()
    assert vpcd.ask(b"\x04") == DEFAULT_ATR
    vpcd.send(b"\x01")  # power on: no answer, the next answer belongs to the next question
    assert vpcd.ask(bytes.fromhex("0070000001")) == bytes.fromhex("019000")
    assert vpcd.ask(bytes.fromhex("01A4040C10A0000005591010FFFFFFFF8900000100")) == bytes.fromhex("9000")
    answer = vpcd.ask(bytes.fromhex("81E2910006BF3E035C015A"))
    assert answer == bytes.fromhex("BF3E125A10") + EID + bytes.fromhex("9000")
    vpcd.send(b"\x02")  # reset: channel 1 is gone
    assert vpcd.ask(bytes.fromhex("81E2910006BF3E035C015A")) == bytes.fromhex("6881")


def test_reconnects_when_vpcd_goes_away(vpcd, running_client, isd_r):
    vpcd.accept()
    assert vpcd.ask(bytes.fromhex("0070000001")) == bytes.fromhex("019000")
    vpcd.drop()
    vpcd.accept()  # the client comes back by itself
    assert vpcd.ask(b"\x04") == DEFAULT_ATR
    # Losing the reader is like pulling the card out: the old channel did not survive.
    assert vpcd.ask(bytes.fromhex("0070000001")) == bytes.fromhex("019000")


def test_waits_for_vpcd_to_come_up(isd_r):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    client = VpcdClient(Iso7816Card(isd_r), "127.0.0.1", port, initial_backoff=0.05, max_backoff=0.2)
    thread = threading.Thread(target=client.serve_forever, daemon=True)
    thread.start()
    vpcd = FakeVpcd(port)
    try:
        vpcd.accept()
        assert client.connected.wait(TIMEOUT)
        assert vpcd.ask(b"\x04") == DEFAULT_ATR
    finally:
        client.stop()
        thread.join(TIMEOUT)
        vpcd.close()
    assert not thread.is_alive()


def test_stop_while_waiting_returns_promptly(isd_r, caplog):
    caplog.set_level(logging.INFO, logger="openrsp.euicc.vpcd")
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = VpcdClient(Iso7816Card(isd_r), "127.0.0.1", port, initial_backoff=30, max_backoff=30)
    thread = threading.Thread(target=client.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not any("waiting for vpcd" in r.message for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any("waiting for vpcd" in r.message for r in caplog.records)
    client.stop()  # interrupts the 30 s backoff
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_address_parsing():
    assert parse_address("127.0.0.1:35963") == ("127.0.0.1", 35963)
    assert parse_address("localhost") == ("localhost", 35963)
    assert parse_address(":4000") == ("127.0.0.1", 4000)
    assert parse_address("[::1]:4000") == ("::1", 4000)


# Runs the real `openrsp euicc serve` with a small test card behind open_card (see the file).
LAUNCHER = Path(__file__).resolve().parent.parent / "interop" / "serve_launcher.py"


def test_cli_serve_answers_apdus_and_stops_cleanly_on_sigterm(vpcd, tmp_path: Path):
    card_dir = tmp_path / "card"
    card_dir.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            str(LAUNCHER),
            EID.hex(),
            "euicc",
            "serve",
            str(card_dir),
            "--vpcd",
            f"127.0.0.1:{vpcd.port}",
            "-v",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        vpcd.accept()
        assert vpcd.ask(b"\x04") == DEFAULT_ATR
        assert vpcd.ask(bytes.fromhex("0070000001")) == bytes.fromhex("019000")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "APDU 0070000001 -> 019000" in stderr  # one debug line per APDU with --verbose


def test_cli_serve_rejects_a_bad_vpcd_address(cli, tmp_path: Path):
    result = cli("euicc", "serve", str(tmp_path), "--vpcd", "localhost:port")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: vpcd address 'localhost:port': port must be a number 1..65535"


def test_cli_serve_rejects_a_missing_folder(cli, tmp_path: Path):
    result = cli("euicc", "serve", str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
