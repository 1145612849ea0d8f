"""A modem in front of the eUICC: finds the USIM, reads the IMSI, runs AUTHENTICATE, over APDUs only.

What a phone's baseband does at power-on and at each network challenge (ETSI TS 102 221, 3GPP
TS 31.102), on the basic channel:

    SELECT MF/EF.DIR, READ RECORD …       find the USIM AID (label "USIM", RID A000000087 PIX 1002)
    SELECT ADF.USIM by AID
    SELECT EF.IMSI (6F07), READ BINARY    the IMSI
    SELECT EF.AD (6FAD), READ BINARY      how many digits of it are the MNC
    AUTHENTICATE (88, P2 81 = 3G context) RAND, AUTN -> RES, CK, IK, or AUTS on a sequence failure

The card is reached through anything with `transmit(apdu) -> response` (an openrsp.lpa transport:
in-process or PC/SC); 61xx and 6Cxx are followed here, as a terminal does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.network.errors import ModemError
from openrsp.profile.identifiers import decode_imsi

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")  # 3GPP RID + USIM PIX
FID_EF_DIR, FID_EF_IMSI, FID_EF_AD = b"\x2f\x00", b"\x6f\x07", b"\x6f\xad"
SW_OK = 0x9000
SW_AUTH_MAC_FAILURE = 0x9862  # TS 31.102: the card did not accept AUTN's MAC
TAG_AUTH_OK, TAG_SYNC_FAILURE = 0xDB, 0xDC
_MAX_EF_DIR_RECORDS = 16


class ApduLink(Protocol):
    """What the modem needs of a card connection (openrsp.lpa.drivers.transport.ApduTransport fits)."""

    def transmit(self, apdu: bytes) -> bytes: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class UsimIdentity:
    """What the modem learnt at power-on."""

    usim_aid: bytes
    imsi: str
    mnc_length: int | None
    profile_class: str | None = None  # "provisioning", "operational", "test" when the device knows it

    @property
    def plmn(self) -> str:
        return self.imsi[: 3 + (self.mnc_length or 2)]


@dataclass(frozen=True)
class AuthOk:
    res: bytes
    ck: bytes
    ik: bytes


@dataclass(frozen=True)
class AuthSyncFailure:
    auts: bytes


@dataclass(frozen=True)
class AuthMacFailure:
    """The card rejected AUTN: the network does not know this card's key."""


AuthResponse = AuthOk | AuthSyncFailure | AuthMacFailure


def _apdu(ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes([0x00, ins, p1, p2])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le & 0xFF])
    return out


def _tlv_items(data: bytes) -> list[tuple[int, bytes]]:
    """One level of simple one-byte-tag BER-TLV (enough for EF.DIR and AUTHENTICATE answers)."""
    items, i = [], 0
    while i + 2 <= len(data) and data[i] not in (0x00, 0xFF):
        tag, length = data[i], data[i + 1]
        items.append((tag, data[i + 2 : i + 2 + length]))
        i += 2 + length
    return items


def usim_aid_from_ef_dir(records: list[bytes]) -> bytes | None:
    """The first application template (61) in EF.DIR whose AID (4F) is a USIM's."""
    for record in records:
        for tag, template in _tlv_items(record):
            if tag != 0x61:
                continue
            for inner_tag, value in _tlv_items(template):
                if inner_tag == 0x4F and value.startswith(USIM_AID_PREFIX):
                    return value
    return None


def parse_authenticate_response(data: bytes) -> AuthOk | AuthSyncFailure:
    """DB L RES L CK L IK [L Kc]  or  DC L AUTS (TS 31.102 7.1.2.1)."""
    if not data:
        raise ModemError("AUTHENTICATE: empty answer")
    if data[0] == TAG_SYNC_FAILURE and len(data) >= 2 and len(data) == 2 + data[1]:
        return AuthSyncFailure(auts=data[2:])
    if data[0] != TAG_AUTH_OK:
        raise ModemError(f"AUTHENTICATE: unexpected answer {to_hex(data)}")
    parts, i = [], 1
    while i < len(data):
        length = data[i]
        parts.append(data[i + 1 : i + 1 + length])
        i += 1 + length
    if len(parts) < 3 or any(len(p) == 0 for p in parts[:3]) or i != len(data):
        raise ModemError(f"AUTHENTICATE: malformed answer {to_hex(data)}")
    return AuthOk(res=parts[0], ck=parts[1], ik=parts[2])


class Modem:
    """The device's modem. `profile_class` (optional) is how the device learns the enabled profile's
    class, e.g. from the LPA's ES10c GetProfilesInfo; the MME may use it for PP detection."""

    def __init__(self, link: ApduLink, *, profile_class: Callable[[], str | None] | None = None) -> None:
        self.link = link
        self._profile_class = profile_class
        self.identity: UsimIdentity | None = None
        self.apdu_count = 0

    # --- power-on ------------------------------------------------------------------------------
    def power_on(self) -> UsimIdentity:
        """Reset the card and read the subscription: USIM AID, IMSI, MNC length."""
        self.link.reset()
        self.identity = None
        aid = self._find_usim_aid()
        self._expect(_apdu(0xA4, 0x04, 0x04, aid, 0x00), "SELECT ADF.USIM")
        imsi_bytes = self._read_transparent(FID_EF_IMSI, "EF.IMSI")
        try:
            imsi = decode_imsi(imsi_bytes)
        except OpenRSPError as exc:
            raise ModemError(f"EF.IMSI: {exc}") from None
        mnc_length = self._mnc_length()
        reported = self._profile_class() if self._profile_class else None
        self.identity = UsimIdentity(aid, imsi, mnc_length, reported)
        return self.identity

    def _find_usim_aid(self) -> bytes:
        # EF.DIR lists the applications; a card without it still answers a partial-AID SELECT.
        status, _ = self._send(_apdu(0xA4, 0x00, 0x04, FID_EF_DIR, 0x00))
        records: list[bytes] = []
        if status == SW_OK:
            for number in range(1, _MAX_EF_DIR_RECORDS + 1):
                sw, record = self._send(_apdu(0xB2, number, 0x04, le=0x00))
                if sw != SW_OK:
                    break
                records.append(record)
        aid = usim_aid_from_ef_dir(records)
        if aid is not None:
            return aid
        sw, _ = self._send(_apdu(0xA4, 0x04, 0x0C, USIM_AID_PREFIX), with_le=False)
        if sw != SW_OK:
            raise ModemError(f"no USIM on the card (EF.DIR lists none; SELECT by RID+PIX answered {sw:04X})")
        return USIM_AID_PREFIX

    def _read_transparent(self, fid: bytes, name: str) -> bytes:
        self._expect(_apdu(0xA4, 0x00, 0x04, fid, 0x00), f"SELECT {name}")
        return self._expect(_apdu(0xB0, 0x00, 0x00, le=0x00), f"READ BINARY {name}")

    def _mnc_length(self) -> int | None:
        try:
            ad = self._read_transparent(FID_EF_AD, "EF.AD")
        except ModemError:
            return None  # EF.AD is optional for this purpose: the network knows its own MNC length
        return ad[3] & 0x0F if len(ad) >= 4 and ad[3] & 0x0F in (2, 3) else None

    # --- authentication ------------------------------------------------------------------------
    def authenticate(self, rand: bytes, autn: bytes) -> AuthResponse:
        """Hand the network's challenge to the USIM (must be powered on)."""
        if self.identity is None:
            raise ModemError("the modem is not powered on (no USIM selected)")
        data = bytes([len(rand)]) + rand + bytes([len(autn)]) + autn
        sw, answer = self._send(_apdu(0x88, 0x00, 0x81, data, 0x00))
        if sw == SW_AUTH_MAC_FAILURE:
            return AuthMacFailure()
        if sw != SW_OK:
            raise ModemError(f"AUTHENTICATE: card answered {sw:04X}")
        return parse_authenticate_response(answer)

    # --- APDU plumbing -------------------------------------------------------------------------
    def _expect(self, apdu: bytes, what: str) -> bytes:
        sw, data = self._send(apdu)
        if sw != SW_OK:
            raise ModemError(f"{what}: card answered {sw:04X}")
        return data

    def _send(self, apdu: bytes, *, with_le: bool = True) -> tuple[int, bytes]:
        """Send, following 6Cxx (repeat with the right Le) and 61xx (GET RESPONSE) like a terminal."""
        sw, data = self._transmit(apdu)
        if sw >> 8 == 0x6C and with_le:
            sw, data = self._transmit(apdu[:-1] + bytes([sw & 0xFF]))
        collected = bytearray(data)
        while sw >> 8 == 0x61:
            sw, data = self._transmit(_apdu(0xC0, 0x00, 0x00, le=sw & 0xFF))
            collected += data
        return sw, bytes(collected)

    def _transmit(self, apdu: bytes) -> tuple[int, bytes]:
        self.apdu_count += 1
        response = self.link.transmit(apdu)
        if len(response) < 2:
            raise ModemError(f"card gave a response without status word to {to_hex(apdu[:4])}")
        return int.from_bytes(response[-2:], "big"), response[:-2]
