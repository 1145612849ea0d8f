"""Serve a card to PC/SC through vsmartcard's vpcd reader driver.

pcscd loads vpcd, which listens on TCP (35963 for its first slot) and waits for a card emulator to
connect. Both directions use a 2-byte big-endian length followed by the payload. One-byte messages
from vpcd are control: 00 power off, 01 power on, 02 reset (no answer), 04 "send the ATR". Anything
longer is a command APDU, answered with the response APDU.

`vpcd_answer` and `FrameReader` are the sans-I/O core; `VpcdClient` is the socket loop around them,
reconnecting with backoff while vpcd is not there (pcscd not started yet, or restarted).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from typing import Protocol

from openrsp.errors import InputError
from openrsp.hexutil import to_hex

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963  # vpcd's first slot in Debian's reader.conf.d/vpcd (CHANNELID 0x8C7B)

CTRL_POWER_OFF = 0x00
CTRL_POWER_ON = 0x01
CTRL_RESET = 0x02
CTRL_GET_ATR = 0x04


class ServedCard(Protocol):
    """What vpcd needs from a card: the Iso7816Card interface."""

    atr: bytes

    def process(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    def power_off(self) -> None: ...


def frame(payload: bytes) -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"vpcd message of {len(payload)} bytes is too long to frame")
    return len(payload).to_bytes(2, "big") + payload


class FrameReader:
    """Splits the byte stream from vpcd into messages, however TCP cut it."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + length:
                break
            messages.append(bytes(self._buffer[2 : 2 + length]))
            del self._buffer[: 2 + length]
        return messages


def vpcd_answer(card: ServedCard, message: bytes) -> bytes | None:
    """What the card sends back for one message from vpcd (None: nothing to send)."""
    if len(message) == 1:
        control = message[0]
        if control == CTRL_GET_ATR:
            return card.atr
        if control == CTRL_POWER_OFF:
            log.debug("vpcd: power off")
            card.power_off()
        elif control in (CTRL_POWER_ON, CTRL_RESET):
            log.debug("vpcd: %s", "power on" if control == CTRL_POWER_ON else "reset")
            card.reset()
        else:
            log.warning("vpcd: unknown control message %02X ignored", control)
        return None
    if not message:
        return None
    response = card.process(message)
    log.debug("APDU %s -> %s", to_hex(message), to_hex(response))
    return response


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT (or just HOST, or :PORT) with vpcd's defaults for what is left out."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, ""
    host = host.strip("[]") or DEFAULT_HOST
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"vpcd address {text!r}: port must be a number 1..65535")
    return host, int(port_text)


class VpcdClient:
    """Keeps one card connected to vpcd until `stop()`; reconnects whenever the link drops."""

    def __init__(
        self,
        card: ServedCard,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
        poll_interval: float = 0.25,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._poll_interval = poll_interval
        self._stop = threading.Event()
        # Reentrant: stop() may run in a signal handler while the main thread holds the lock.
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self.connected = threading.Event()  # set while a vpcd link is up (tests and status lines)

    def stop(self) -> None:
        """Ask `serve_forever` to return soon; safe from signal handlers and other threads."""
        self._stop.set()
        with self._lock:
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)

    def serve_forever(self) -> None:
        backoff = self._initial_backoff
        announced_wait = False
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=max(self._poll_interval, 1.0))
            except OSError as exc:
                if not announced_wait:
                    log.info("waiting for vpcd at %s:%d (%s)", self.host, self.port, exc)
                    announced_wait = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            announced_wait = False
            backoff = self._initial_backoff
            self._session(sock)
        log.info("vpcd client stopped")

    def _session(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
        log.info("connected to vpcd at %s:%d", self.host, self.port)
        self.connected.set()
        try:
            sock.settimeout(self._poll_interval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = FrameReader()
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    log.info("vpcd closed the connection")
                    break
                # vpcd writes length and payload separately; acknowledging at once keeps its Nagle
                # algorithm from holding every APDU back for a delayed-ACK period (~40 ms).
                _quick_ack(sock)
                for message in reader.feed(chunk):
                    answer = vpcd_answer(self.card, message)
                    if answer is not None:
                        sock.sendall(frame(answer))
        except OSError as exc:
            if not self._stop.is_set():
                log.info("vpcd link lost: %s", exc)
        finally:
            self.connected.clear()
            with self._lock:
                self._sock = None
            sock.close()
            # The reader no longer sees the card: like pulling it out, all card state is gone.
            self.card.power_off()


def _quick_ack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only; elsewhere the link is just slower
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def serve(card: ServedCard, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve `card` to vpcd in this (main) thread until SIGTERM or SIGINT."""
    client = VpcdClient(card, host, port)

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("%s received, stopping", signal.Signals(signum).name)
        client.stop()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        client.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
