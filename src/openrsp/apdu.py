"""Command and response APDUs (ISO/IEC 7816-4 short form), class-byte coding and status words.

Shared by the card side (iso7816.py) and the LPA side (lpa/drivers/es10_client.py), so both agree on the
bytes. Only short APDUs exist here: the card's ATR does not offer extended length, and no ES10
exchange needs it (STORE DATA blocks are at most 255 bytes, responses come 256 bytes at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex

# --- status words -------------------------------------------------------------------------------
SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
SW_SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
SW_COMMAND_CHAINING_NOT_SUPPORTED = 0x6884
SW_SECURITY_STATUS_NOT_SATISFIED = 0x6982
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_NOT_ENOUGH_MEMORY = 0x6A84
SW_WRONG_P1P2 = 0x6A86
SW_LC_INCONSISTENT_WITH_P1P2 = 0x6A87
SW_REFERENCED_DATA_NOT_FOUND = 0x6A88
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_UNKNOWN = 0x6F00
SW1_MORE_DATA = 0x61  # 61xx: xx more bytes wait for GET RESPONSE (00 = 256 or more)
SW1_WRONG_LE = 0x6C  # 6Cxx: resend with Le = xx

# --- instruction bytes this layer knows by name ----------------------------------------------------
INS_MANAGE_CHANNEL = 0x70
INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0
INS_STORE_DATA = 0xE2
INS_TERMINAL_CAPABILITY = 0xAA

MAX_SHORT_LE = 256
BASIC_CHANNELS = 4  # channels 0..3 fit the first interindustry class byte
MAX_CHANNELS = 20  # 4..19 need the further interindustry coding (0x4n / 0xCn)

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")


class ApduFormatError(OpenRSPError):
    """Bytes that are not a well-formed short command or response APDU."""


class StatusWordError(OpenRSPError):
    """A card application refuses a command: the dispatcher answers with this status word."""

    def __init__(self, sw: int, message: str = "") -> None:
        self.sw = sw
        super().__init__(message or f"status word {sw:04X}")


@dataclass(frozen=True)
class CommandApdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # None: no Le field; 1..256 otherwise (a coded 00 means 256)

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Decode a short APDU of case 1, 2, 3 or 4; anything else is a length error."""
        if len(raw) < 4:
            raise ApduFormatError(f"APDU too short: {to_hex(raw)}")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or MAX_SHORT_LE)
        lc = body[0]
        if lc == 0:
            raise ApduFormatError("extended-length APDUs are not supported")
        if len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:]))
        if len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:-1]), le=body[-1] or MAX_SHORT_LE)
        raise ApduFormatError(f"Lc {lc} does not match the {len(body) - 1} bytes that follow")

    def to_bytes(self) -> bytes:
        if len(self.data) > 255:
            raise ApduFormatError(f"command data of {len(self.data)} bytes does not fit a short APDU")
        if self.le is not None and not 1 <= self.le <= MAX_SHORT_LE:
            raise ApduFormatError(f"Le {self.le} out of range 1..256")
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le & 0xFF])
        return out


@dataclass(frozen=True)
class ResponseApdu:
    data: bytes = b""
    sw: int = SW_OK

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise ApduFormatError(f"response too short to hold a status word: {to_hex(raw)}")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


def more_data_sw(remaining: int) -> int:
    """61xx announcing `remaining` bytes; xx saturates at 00 meaning 256 or more."""
    return (SW1_MORE_DATA << 8) | (remaining if remaining < MAX_SHORT_LE else 0)


@dataclass(frozen=True)
class ClassByte:
    """What a CLA byte says: logical channel, and whether it is the proprietary (GlobalPlatform/UICC) form."""

    channel: int
    proprietary: bool


def decode_cla(cla: int) -> ClassByte:
    """Split a CLA into channel and class type, or raise StatusWordError with the card's answer.

    ISO 7816-4: 0x0n (channel 0..3) and 0x4n (channel 4 + n); ETSI TS 102 221 / GlobalPlatform use
    the same codings with b8 set (0x8n, 0xCn) for proprietary commands. Secure messaging and command
    chaining are not offered by this card.
    """
    kind = cla & 0xF0
    if kind in (0x00, 0x80, 0x10, 0x90):
        if cla & 0x10:
            raise StatusWordError(SW_COMMAND_CHAINING_NOT_SUPPORTED)
        if cla & 0x0C:
            raise StatusWordError(SW_SECURE_MESSAGING_NOT_SUPPORTED)
        return ClassByte(cla & 0x03, bool(cla & 0x80))
    if kind in (0x40, 0xC0, 0x50, 0xD0, 0x60, 0xE0, 0x70, 0xF0):
        if cla == 0xFF:  # reserved for PPS, never a command
            raise StatusWordError(SW_CLA_NOT_SUPPORTED)
        if cla & 0x20:
            raise StatusWordError(SW_SECURE_MESSAGING_NOT_SUPPORTED)
        if cla & 0x10:
            raise StatusWordError(SW_COMMAND_CHAINING_NOT_SUPPORTED)
        return ClassByte(BASIC_CHANNELS + (cla & 0x0F), bool(cla & 0x80))
    raise StatusWordError(SW_CLA_NOT_SUPPORTED)


def encode_cla(channel: int, *, proprietary: bool) -> int:
    """The CLA byte that addresses `channel` (0..19), without secure messaging or chaining."""
    if not 0 <= channel < MAX_CHANNELS:
        raise ValueError(f"logical channel {channel} out of range 0..{MAX_CHANNELS - 1}")
    base = 0x80 if proprietary else 0x00
    if channel < BASIC_CHANNELS:
        return base | channel
    return base | 0x40 | (channel - BASIC_CHANNELS)
