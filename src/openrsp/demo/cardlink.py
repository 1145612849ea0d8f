"""A card-link model: what the APDUs of a segmented load would cost over a real reader.

Over ISO 7816-3 T=0 every byte is a character of 12 etu (start bit, 8 data bits, parity, 2 guard
etu); 9600 bps is the default rate (Fi/Di 372/1 at 3.57 MHz) and readers negotiate up to a few
hundred kbps. Each APDU also pays a fixed cost: procedure bytes, the reader's USB round trip, the PC/SC
stack and the card's own processing. The model is `apdus * overhead + bytes * 12 / bps`; the
MeteredTransport counts the real APDUs and bytes the in-process load exchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from openrsp.errors import InputError

ETU_PER_BYTE_T0 = 12
DEFAULT_BPS = 115_200
DEFAULT_APDU_OVERHEAD_MS = 5.0


@dataclass(frozen=True)
class CardLinkModel:
    bps: int = DEFAULT_BPS
    apdu_overhead_ms: float = DEFAULT_APDU_OVERHEAD_MS
    etu_per_byte: int = ETU_PER_BYTE_T0

    def __post_init__(self) -> None:
        if self.bps <= 0:
            raise InputError("card link: bits per second must be positive")
        if self.apdu_overhead_ms < 0:
            raise InputError("card link: per-APDU overhead cannot be negative")

    @property
    def bytes_per_second(self) -> float:
        return self.bps / self.etu_per_byte

    def seconds(self, apdus: int, link_bytes: int) -> float:
        return apdus * self.apdu_overhead_ms / 1000 + link_bytes / self.bytes_per_second

    def describe(self) -> str:
        return (
            f"T=0 at {self.bps} bps ({self.bytes_per_second:.0f} B/s), {self.apdu_overhead_ms:g} ms per APDU"
        )

    def to_json(self) -> dict[str, float]:
        return {"bps": self.bps, "apduOverheadMs": self.apdu_overhead_ms, "etuPerByte": self.etu_per_byte}


@dataclass
class LinkCount:
    apdus: int = 0
    command_bytes: int = 0
    response_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.command_bytes + self.response_bytes

    def minus(self, earlier: LinkCount) -> LinkCount:
        return LinkCount(
            self.apdus - earlier.apdus,
            self.command_bytes - earlier.command_bytes,
            self.response_bytes - earlier.response_bytes,
        )


class MeteredTransport:
    """Wraps an APDU transport and counts what crosses it (the same bytes a reader would carry)."""

    def __init__(self, inner) -> None:  # an openrsp.lpa.drivers.transport.ApduTransport
        self.inner = inner
        self.count = LinkCount()

    def snapshot(self) -> LinkCount:
        return LinkCount(self.count.apdus, self.count.command_bytes, self.count.response_bytes)

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        self.count.apdus += 1
        self.count.command_bytes += len(apdu)
        self.count.response_bytes += len(response)
        return response

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()
