"""How the LPA reaches a card: raw APDU bytes in, response bytes (data + SW) out.

`in_process.InProcessTransport` calls a card object living in the same process (tests, the
all-in-one demo; the one driver that may import the eUICC); `pcsc.PcscTransport` goes through
pcscd with pyscard, to a real card or to `openrsp euicc serve` behind vsmartcard's virtual reader. Everything above (ES10 framing, channels, 61xx) is the same for both.
"""

from __future__ import annotations

from typing import Protocol

from openrsp.errors import OpenRSPError


class TransportError(OpenRSPError):
    """The APDU link itself failed (no reader, no card, card removed, PC/SC service down)."""


class NoReaderError(TransportError):
    """No PC/SC reader, or none matching the name asked for."""


class NoCardError(TransportError):
    """The reader exists but holds no card (for vpcd: no card emulator connected)."""


class ApduTransport(Protocol):
    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...
