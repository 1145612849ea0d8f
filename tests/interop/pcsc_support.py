"""Helpers for the PC/SC tests: a small ISD-R, plugging a card into vpcd (pcscd itself: pcsc_fixture)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from openrsp.euicc.iso7816 import Iso7816Card
from openrsp.euicc.vpcd import VpcdClient
from pcsc_fixture import TIMEOUT, card_present, wait_for

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
class VirtualCard:
    reader: str
    card: Iso7816Card
    isd_r: SmallIsdR


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
