"""The real PC/SC path: pcscd with vsmartcard's vpcd reader (the `pcsc` fixture, tests/pcsc_fixture.py),
and our card plugged into it.

Every test here is marked `pcsc` and grouped with xdist_group("pcsc") to run in one worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pcsc_support import SmallIsdR, VirtualCard, plug_in

from openrsp.euicc.iso7816 import Iso7816Card
from pcsc_fixture import Pcsc


@pytest.fixture
def virtual_card(pcsc: Pcsc) -> Iterator[VirtualCard]:
    isd_r = SmallIsdR()
    card = Iso7816Card(isd_r)
    reader = pcsc.readers[0]
    with plug_in(card, reader, pcsc.ports[0]):
        yield VirtualCard(reader, card, isd_r)
