"""A card link that takes time, as a real reader does, so people can watch the progress bar.

The in-process eUICC answers in microseconds: a whole profile loads before the page has drawn it.
`PacedTransport` waits a fixed time per APDU (what procedure bytes, USB and the PC/SC stack cost a
real reader), which makes the segmented load visible at a human pace in demos and test labs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from openrsp.lpa.drivers.transport import ApduTransport


class PacedTransport:
    def __init__(
        self, inner: ApduTransport, delay: float, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.inner = inner
        self.delay = delay  # seconds per APDU
        self._sleep = sleep

    def transmit(self, apdu: bytes) -> bytes:
        self._sleep(self.delay)
        return self.inner.transmit(apdu)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()


def paced(open_transport: Callable[[], ApduTransport], delay: float) -> Callable[[], ApduTransport]:
    """`open_transport`, with every APDU taking `delay` seconds more (unchanged when delay is 0)."""
    if delay <= 0:
        return open_transport
    return lambda: PacedTransport(open_transport(), delay)
