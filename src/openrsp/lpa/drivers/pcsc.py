"""The PC/SC APDU driver: a card in a reader through pcscd (the `[pcsc]` extra, pyscard).

A real eUICC in a reader, or `openrsp euicc serve` behind vsmartcard's vpcd ("Virtual PCD").
"""

from __future__ import annotations

from openrsp.errors import InputError
from openrsp.extras import require
from openrsp.lpa.drivers.transport import NoCardError, NoReaderError, TransportError


class PcscTransport:
    """A card in a PC/SC reader, connected with T=0 or T=1 as its ATR offers.

    `reader` is a reader name or part of one (e.g. "Virtual PCD 00 00" or "Virtual PCD"): the first
    matching reader that holds a card is used; None means any reader. `protocol` "T=0" or "T=1"
    insists on one (lpac connects T=0 only); None lets pcscd pick.
    """

    def __init__(
        self, reader: str | None = None, *, exclusive: bool = False, protocol: str | None = None
    ) -> None:
        # Imported here so that in-process use never needs the PC/SC library.
        scard = require("smartcard.scard", "pcsc", "a PC/SC card reader")

        self._scard = scard
        offered = {"T=0": scard.SCARD_PROTOCOL_T0, "T=1": scard.SCARD_PROTOCOL_T1}
        if protocol is not None and protocol not in offered:
            raise InputError(f"PC/SC protocol must be T=0 or T=1, not {protocol!r}")
        self._protocols = offered[protocol] if protocol else scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        self._share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        self._no_card = frozenset(
            {
                scard.SCARD_E_NO_SMARTCARD,
                scard.SCARD_W_REMOVED_CARD,
                scard.SCARD_W_UNPOWERED_CARD,
                scard.SCARD_W_UNRESPONSIVE_CARD,
                scard.SCARD_E_READER_UNAVAILABLE,
            }
        )
        self._card: int | None = None
        self._context: int | None = self._establish()
        try:
            self.reader, self._card, self._protocol = self._connect(reader)
        except BaseException:
            self.close()
            raise

    # --- public ---------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        return "T=0" if self._protocol == self._scard.SCARD_PROTOCOL_T0 else "T=1"

    @property
    def atr(self) -> bytes:
        hr, _reader, _state, _protocol, atr = self._scard.SCardStatus(self._handle())
        self._check(hr, "reading the card status")
        return bytes(atr)

    def transmit(self, apdu: bytes) -> bytes:
        hr, response = self._scard.SCardTransmit(self._handle(), self._protocol, list(apdu))
        self._check(hr, "sending an APDU")
        return bytes(response)

    def reset(self) -> None:
        scard = self._scard
        hr, protocol = scard.SCardReconnect(
            self._handle(), self._share, self._protocols, scard.SCARD_RESET_CARD
        )
        self._check(hr, "resetting the card")
        self._protocol = protocol

    def close(self) -> None:
        if self._card is not None:
            self._scard.SCardDisconnect(self._card, self._scard.SCARD_LEAVE_CARD)
            self._card = None
        if self._context is not None:
            self._scard.SCardReleaseContext(self._context)
            self._context = None

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connecting -----------------------------------------------------------------------------
    def _handle(self) -> int:
        if self._card is None:
            raise TransportError("PC/SC transport is closed")
        return self._card

    def _establish(self) -> int:
        hr, context = self._scard.SCardEstablishContext(self._scard.SCARD_SCOPE_USER)
        if hr != self._scard.SCARD_S_SUCCESS:
            raise TransportError(f"PC/SC service not reachable (is pcscd running?): {self._message(hr)}")
        return context

    def _connect(self, wanted: str | None) -> tuple[str, int, int]:
        scard = self._scard
        hr, names = scard.SCardListReaders(self._context, [])
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE or (hr == scard.SCARD_S_SUCCESS and not names):
            raise NoReaderError("no PC/SC reader found")
        self._check(hr, "listing readers")
        candidates = _matching_readers(names, wanted)
        for name in candidates:
            hr, card, protocol = scard.SCardConnect(self._context, name, self._share, self._protocols)
            if hr == scard.SCARD_S_SUCCESS:
                return name, card, protocol
            if hr not in self._no_card:
                self._check(hr, f"connecting to the card in {name!r}")
        raise NoCardError(f"no card in {' or '.join(repr(name) for name in candidates)}")

    def _check(self, hr: int, doing: str) -> None:
        if hr == self._scard.SCARD_S_SUCCESS:
            return
        if hr in self._no_card:
            raise NoCardError(f"card gone while {doing}: {self._message(hr)}")
        raise TransportError(f"PC/SC error while {doing}: {self._message(hr)}")

    def _message(self, hr: int) -> str:
        return f"{self._scard.SCardGetErrorMessage(hr)} (0x{hr & 0xFFFFFFFF:08X})"


def _matching_readers(names: list[str], wanted: str | None) -> list[str]:
    if wanted is None:
        return list(names)
    if wanted in names:
        return [wanted]
    partial = [name for name in names if wanted.lower() in name.lower()]
    if not partial:
        raise NoReaderError(f"no PC/SC reader named {wanted!r} (readers: {', '.join(names)})")
    return partial  # several may match (vpcd has two slots): the first holding a card wins
