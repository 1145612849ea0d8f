"""The in-process APDU driver: a virtual eUICC living in this process, reached with APDU bytes.

The only part of the LPA that may import openrsp.euicc (tests/test_import_rules.py): it opens an
eUICC folder as a card and reads the CIs that eUICC trusts, for an LPA given no CI of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from cryptography import x509

from openrsp.lpa.drivers.transport import TransportError


class Card(Protocol):
    """The card side as `InProcessTransport` needs it (an openrsp.euicc.iso7816.Iso7816Card)."""

    def process(self, apdu: bytes) -> bytes: ...

    def reset(self) -> bytes: ...


class InProcessTransport:
    def __init__(self, card: Card) -> None:
        self.card = card
        self._closed = False

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise TransportError("transport is closed")
        return self.card.process(apdu)

    def reset(self) -> None:
        self.card.reset()

    def close(self) -> None:
        self._closed = True


def open_euicc_folder(folder: Path) -> InProcessTransport:
    """The virtual eUICC kept in `folder` (openrsp euicc create) as a card in this process."""
    from openrsp.euicc.store import open_card

    return InProcessTransport(open_card(folder))


def euicc_trusted_cis(folder: Path) -> list[x509.Certificate]:
    """The CI certificates the virtual eUICC in `folder` trusts."""
    from openrsp.euicc.store import read_state

    return [x509.load_der_x509_certificate(t.certificate) for t in read_state(folder).trusted_cis]
