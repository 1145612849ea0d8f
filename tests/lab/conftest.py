"""One lab (a fresh test PKI, the lab's SM-DP+, a virtual eUICC) per test module: cases share it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openrsp.lab.setup import Lab, open_lab


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with open_lab(card="virtual") as running:
        yield running
