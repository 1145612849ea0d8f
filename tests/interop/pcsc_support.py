"""Helpers for the PC/SC tests: a small ISD-R, pcscd's view of readers and cards, plugging a card in."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from smartcard import scard

from openrsp.euicc.iso7816 import Iso7816Card
from openrsp.euicc.vpcd import VpcdClient

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
TIMEOUT = 20.0

EID = bytes.fromhex("89049032123451234512345678901235")
BIG_RESPONSE = bytes.fromhex("BF228202B7") + bytes(i % 241 for i in range(695))


class SmallIsdR:
    """Just enough ES10 to check the transport end to end (the real ISD-R lives elsewhere)."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    def handle_es10(self, request: bytes) -> bytes:
        self.requests.append(request)
        tag = request[:2]
        if tag == b"\xbf\x3e":
            return bytes.fromhex("BF3E125A10") + EID
        if tag == b"\xbf\x22":
            return BIG_RESPONSE
        return tag + b"\x00"

    def on_reset(self) -> None:
        pass


@dataclass
class Pcsc:
    readers: list[str]  # vpcd's readers, slot by slot
    ports: list[int]  # the TCP port each slot listens on


@dataclass
class VirtualCard:
    reader: str
    card: Iso7816Card
    isd_r: SmallIsdR


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def pcscd_answers() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


def list_readers() -> list[str]:
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return []
    try:
        hr, names = scard.SCardListReaders(context, [])
        return list(names) if hr == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def card_present(reader: str) -> bool:
    """What pcscd believes right now (it polls vpcd for the card several times a second)."""
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return False
    try:
        hr, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return hr == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


def vpcd_config() -> tuple[str, int]:
    """Reader name prefix and first TCP port of vpcd, as Debian's reader.conf.d/vpcd sets them."""
    assert VPCD_CONF.is_file(), f"{VPCD_CONF} missing: install the vsmartcard-vpcd package"
    text = VPCD_CONF.read_text()
    name = re.search(r'^\s*FRIENDLYNAME\s+"([^"]+)"', text, re.M)
    channel = re.search(r"^\s*CHANNELID\s+(\S+)", text, re.M)
    assert name and channel, f"no FRIENDLYNAME/CHANNELID in {VPCD_CONF}"
    return name.group(1), int(channel.group(1), 0)


@contextlib.contextmanager
def plug_in(card: Iso7816Card, reader: str, port: int) -> Iterator[None]:
    """Connect `card` to vpcd from a background thread until the caller is done with it."""
    client = VpcdClient(card, "127.0.0.1", port, initial_backoff=0.05, max_backoff=0.5)
    thread = threading.Thread(target=client.serve_forever, name=f"vpcd-{port}", daemon=True)
    thread.start()
    try:
        wait_for(lambda: card_present(reader), f"the card to show in {reader!r}")
        yield
    finally:
        client.stop()
        thread.join(TIMEOUT)
        # Let pcscd notice the card is gone, so the next test starts from an empty reader.
        wait_for(lambda: not card_present(reader), f"{reader!r} to be empty again")
