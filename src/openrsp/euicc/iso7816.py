"""The card's ISO 7816 layer: channels, SELECT, STORE DATA reassembly and GET RESPONSE, sans-I/O.

`Iso7816Card.process(apdu bytes) -> response bytes` behaves like a UICC seen through a T=0/T=1
reader: the LPA opens a logical channel, SELECTs the ISD-R there and sends each ES10 request as a
run of STORE DATA blocks; the card hands the whole request to the ISD-R and returns the answer at
most 256 bytes at a time (61xx + GET RESPONSE for the rest). Other applications (the USIM) plug in
through the `Application` protocol and get the same channel and 61xx mechanics for free.

Per channel the card remembers: the selected application, a partial STORE DATA request and the part
of a response not fetched yet. Any command other than GET RESPONSE on a channel drops what was
pending there, like a real card; a reset drops everything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from openrsp.apdu import (
    INS_GET_RESPONSE,
    INS_MANAGE_CHANNEL,
    INS_SELECT,
    INS_STORE_DATA,
    INS_TERMINAL_CAPABILITY,
    ISD_R_AID,
    MAX_CHANNELS,
    MAX_SHORT_LE,
    SW1_WRONG_LE,
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_FILE_NOT_FOUND,
    SW_FUNCTION_NOT_SUPPORTED,
    SW_INS_NOT_SUPPORTED,
    SW_LC_INCONSISTENT_WITH_P1P2,
    SW_LOGICAL_CHANNEL_NOT_SUPPORTED,
    SW_NOT_ENOUGH_MEMORY,
    SW_OK,
    SW_UNKNOWN,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    ApduFormatError,
    CommandApdu,
    ResponseApdu,
    StatusWordError,
    decode_cla,
    more_data_sw,
)
from openrsp.asn1.tlv import encode_tlv
from openrsp.hexutil import to_hex

log = logging.getLogger(__name__)

# TS=3B (direct convention); T0=80: no interface bytes but TD1, no historical bytes; TD1=80: T=0
# and TD2 follows; TD2=01: T=1; TCK=01 (XOR of T0..TD2, required because T=1 is offered).
DEFAULT_ATR = bytes.fromhex("3B80800101")

# STORE DATA P1 as SGP.22 uses it: BER-TLV structure, more blocks follow (11) or last block (91).
P1_STORE_DATA_MORE = 0x11
P1_STORE_DATA_LAST = 0x91
# One ES10 request never comes near this; it bounds what a misbehaving LPA can make the card hold.
MAX_ES10_REQUEST = 256 * 1024

# Instructions a UICC knows; with nothing selected they are refused as "conditions not satisfied"
# rather than "unknown instruction".
_APPLICATION_INS = frozenset(
    {0x04, 0x10, 0x12, 0x14, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x32, 0x44, 0x50, 0x82, 0x84, 0x88, 0x89}
    | {0xA2, 0xB0, 0xB2, 0xC2, 0xCA, 0xCB, 0xD6, 0xDA, 0xDC, 0xE2, 0xE4, 0xE6, 0xE8, 0xF0, 0xF2}
)


class Es10Application(Protocol):
    """The ISD-R: takes one whole ES10 request (DER) and returns the whole DER response."""

    def handle_es10(self, request: bytes) -> bytes: ...

    def on_reset(self) -> None: ...


@runtime_checkable
class Application(Protocol):
    """Any other selectable application (e.g. the USIM).

    `select()` returns its FCI (template 6F); `process()` gets every command sent to the channel
    it is selected on, except SELECT by AID, MANAGE CHANNEL and GET RESPONSE, which the card
    handles. A long `ResponseApdu.data` is delivered in 256-byte pieces by the card; raising
    StatusWordError answers that status word.
    """

    aid: bytes

    def select(self) -> bytes: ...

    def process(self, apdu: CommandApdu) -> ResponseApdu: ...

    def on_reset(self) -> None: ...


def isd_r_fci(aid: bytes = ISD_R_AID) -> bytes:
    """FCI of the ISD-R: its AID (84) and proprietary data (A5) with the largest command data (9F65)."""
    proprietary = bytes.fromhex("9F6501FF")
    return encode_tlv(0x6F, encode_tlv(0x84, aid) + encode_tlv(0xA5, proprietary))


@dataclass
class _IsdR:
    """Binds the ES10 application to its AID; STORE DATA reassembly lives in the card."""

    es10: Es10Application
    aid: bytes = ISD_R_AID


@dataclass
class _Channel:
    selected: Application | _IsdR | None = None
    store_data: bytearray = field(default_factory=bytearray)
    next_block: int = 0  # P2 the next STORE DATA block must carry
    pending: bytes = b""  # response bytes still waiting for GET RESPONSE

    def drop_partial(self) -> None:
        self.store_data = bytearray()
        self.next_block = 0


class Iso7816Card:
    """A UICC with an ISD-R and other applications, driven one APDU at a time."""

    def __init__(
        self,
        isd_r: Es10Application,
        applications: Iterable[Application] = (),
        atr: bytes = DEFAULT_ATR,
        *,
        default_application: Application | None = None,
        isd_r_aid: bytes = ISD_R_AID,
    ) -> None:
        """`default_application` (e.g. the UICC file system around the MF) gets the commands sent
        to a channel on which no application was selected by AID; without it such commands fail."""
        self.atr = bytes(atr)
        self._isd_r = _IsdR(isd_r, isd_r_aid)
        self._applications = list(applications)
        self._default = default_application
        self.terminal_capability: bytes | None = None
        self._channels: dict[int, _Channel] = {}
        self._reset_state()

    # --- power ----------------------------------------------------------------------------------
    def reset(self) -> bytes:
        """Warm or cold reset: only the basic channel stays open, nothing selected. Returns the ATR."""
        self._reset_state()
        self._notify_reset()
        return self.atr

    def power_off(self) -> None:
        self._reset_state()
        self._notify_reset()

    def _reset_state(self) -> None:
        self._channels = {0: _Channel()}
        self.terminal_capability = None

    def _notify_reset(self) -> None:
        self._isd_r.es10.on_reset()
        for app in self._everyone_but_isd_r():
            app.on_reset()

    def _everyone_but_isd_r(self) -> list[Application]:
        return self._applications + ([self._default] if self._default is not None else [])

    # --- dispatch --------------------------------------------------------------------------------
    def process(self, apdu: bytes) -> bytes:
        """One command APDU in, the response (data + SW) out."""
        return self._dispatch(apdu).to_bytes()

    def _dispatch(self, raw: bytes) -> ResponseApdu:
        try:
            cla = decode_cla(raw[0]) if raw else None
            command = CommandApdu.parse(raw)
        except StatusWordError as exc:
            return ResponseApdu(sw=exc.sw)
        except ApduFormatError:
            return ResponseApdu(sw=SW_WRONG_LENGTH)
        assert cla is not None
        channel = self._channels.get(cla.channel)
        if channel is None:
            return ResponseApdu(sw=SW_LOGICAL_CHANNEL_NOT_SUPPORTED)
        if command.ins == INS_GET_RESPONSE:
            return self._get_response(channel, command)
        # Whatever was waiting on this channel is gone once another command arrives.
        channel.pending = b""
        try:
            data, sw = self._execute(channel, cla.channel, cla.proprietary, command)
        except StatusWordError as exc:
            return ResponseApdu(sw=exc.sw)
        except Exception:
            # A card never takes the terminal down; 6F00 is the "no precise diagnosis" answer.
            log.exception("card failed on %s", to_hex(raw))
            return ResponseApdu(sw=SW_UNKNOWN)
        if command.ins == INS_SELECT and command.le is None and data and sw == SW_OK:
            # Case 3 SELECT (no Le), as lpac and T=0 terminals send it: the FCI waits behind 61xx.
            channel.pending = data
            return ResponseApdu(sw=more_data_sw(len(data)))
        return self._deliver(channel, data, sw, command.le)

    def _execute(
        self, channel: _Channel, number: int, proprietary: bool, command: CommandApdu
    ) -> tuple[bytes, int]:
        ins = command.ins
        if ins == INS_MANAGE_CHANNEL:
            _require(not proprietary, SW_CLA_NOT_SUPPORTED)
            return self._manage_channel(number, command)
        if ins == INS_TERMINAL_CAPABILITY:
            _require(proprietary, SW_CLA_NOT_SUPPORTED)
            _require(command.p1 == 0 and command.p2 == 0, SW_WRONG_P1P2)
            _require(bool(command.data), SW_WRONG_LENGTH)
            self.terminal_capability = command.data
            return b"", SW_OK
        if ins == INS_SELECT and command.p1 == 0x04:
            _require(not proprietary, SW_CLA_NOT_SUPPORTED)
            return self._select_by_aid(channel, command)
        target = channel.selected if channel.selected is not None else self._default
        if isinstance(target, _IsdR):
            return self._isd_r_command(channel, proprietary, command)
        if target is None:
            if ins == INS_SELECT:
                raise StatusWordError(SW_FILE_NOT_FOUND)
            raise StatusWordError(
                SW_CONDITIONS_NOT_SATISFIED if ins in _APPLICATION_INS else SW_INS_NOT_SUPPORTED
            )
        response = target.process(command)
        return response.data, response.sw

    def _deliver(self, channel: _Channel, data: bytes, sw: int, le: int | None) -> ResponseApdu:
        """At most Le (or 256) bytes now; the rest stays on the channel behind 61xx."""
        if not data:
            return ResponseApdu(sw=sw)
        if sw != SW_OK:  # errors carry no data worth splitting; keep what fits
            return ResponseApdu(data[:MAX_SHORT_LE], sw)
        now = min(le or MAX_SHORT_LE, MAX_SHORT_LE)
        if len(data) <= now:
            return ResponseApdu(data, SW_OK)
        channel.pending = data[now:]
        return ResponseApdu(data[:now], more_data_sw(len(channel.pending)))

    def _get_response(self, channel: _Channel, command: CommandApdu) -> ResponseApdu:
        if command.data or command.le is None:
            return ResponseApdu(sw=SW_WRONG_LENGTH)
        if command.p1 or command.p2:
            return ResponseApdu(sw=SW_WRONG_P1P2)
        if not channel.pending:
            return ResponseApdu(sw=SW_CONDITIONS_NOT_SATISFIED)
        available = len(channel.pending)
        # Le=00 asks for "up to 256"; any other Le longer than what is left is answered 6Cxx.
        if command.le != MAX_SHORT_LE and command.le > available:
            return ResponseApdu(sw=(SW1_WRONG_LE << 8) | available)
        data, channel.pending = channel.pending[: command.le], channel.pending[command.le :]
        sw = more_data_sw(len(channel.pending)) if channel.pending else SW_OK
        return ResponseApdu(data, sw)

    # --- card-level commands -------------------------------------------------------------------
    def _manage_channel(self, number: int, command: CommandApdu) -> tuple[bytes, int]:
        _require(not command.data, SW_WRONG_LENGTH)
        if command.p1 == 0x00:  # open
            if command.p2 == 0:
                free = [n for n in range(1, MAX_CHANNELS) if n not in self._channels]
                _require(bool(free), SW_FUNCTION_NOT_SUPPORTED)
                new = free[0]
            else:
                new = command.p2
                _require(new < MAX_CHANNELS and new not in self._channels, SW_WRONG_P1P2)
            self._channels[new] = _Channel()
            return bytes([new]), SW_OK
        if command.p1 == 0x80:  # close the channel named in P2 (or in CLA when P2 is 00)
            target = command.p2 or number
            _require(target != 0 and target < MAX_CHANNELS, SW_WRONG_P1P2)
            _require(target in self._channels, SW_LOGICAL_CHANNEL_NOT_SUPPORTED)
            del self._channels[target]
            return b"", SW_OK
        raise StatusWordError(SW_WRONG_P1P2)

    def _select_by_aid(self, channel: _Channel, command: CommandApdu) -> tuple[bytes, int]:
        # P2: b2-b1 occurrence (only "first" here), b4-b3 what to return (FCI/FCP/FMD or nothing).
        _require(command.p2 & 0xF3 == 0, SW_WRONG_P1P2)
        _require(1 <= len(command.data) <= 16, SW_LC_INCONSISTENT_WITH_P1P2)
        target = self._find(command.data)
        _require(target is not None, SW_FILE_NOT_FOUND)
        assert target is not None
        channel.selected = target
        channel.drop_partial()
        if command.p2 & 0x0C == 0x0C:
            return b"", SW_OK
        return (isd_r_fci(target.aid) if isinstance(target, _IsdR) else target.select()), SW_OK

    def _find(self, aid: bytes) -> Application | _IsdR | None:
        # Full AID first, then a right-truncated one (ISO 7816-4 partial DF name).
        candidates: list[Application | _IsdR] = [self._isd_r, *self._applications]
        for app in candidates:
            if app.aid == aid:
                return app
        for app in candidates:
            if app.aid.startswith(aid):
                return app
        return None

    # --- ISD-R: STORE DATA ----------------------------------------------------------------------
    def _isd_r_command(self, channel: _Channel, proprietary: bool, command: CommandApdu) -> tuple[bytes, int]:
        if command.ins != INS_STORE_DATA:
            raise StatusWordError(SW_INS_NOT_SUPPORTED)
        _require(proprietary, SW_CLA_NOT_SUPPORTED)
        if command.p1 not in (P1_STORE_DATA_MORE, P1_STORE_DATA_LAST) or command.p2 != channel.next_block:
            channel.drop_partial()
            raise StatusWordError(SW_WRONG_P1P2)
        if not command.data:
            channel.drop_partial()
            raise StatusWordError(SW_WRONG_LENGTH)
        if len(channel.store_data) + len(command.data) > MAX_ES10_REQUEST:
            channel.drop_partial()
            raise StatusWordError(SW_NOT_ENOUGH_MEMORY)
        channel.store_data += command.data
        channel.next_block = (channel.next_block + 1) & 0xFF  # block numbers wrap after 255
        if command.p1 == P1_STORE_DATA_MORE:
            return b"", SW_OK
        request = bytes(channel.store_data)
        channel.drop_partial()
        assert isinstance(channel.selected, _IsdR)
        return channel.selected.es10.handle_es10(request), SW_OK

    # Convenience for tests and tools: how many channels are open right now.
    @property
    def open_channels(self) -> list[int]:
        return sorted(self._channels)


def _require(condition: bool, sw: int) -> None:
    if not condition:
        raise StatusWordError(sw)
