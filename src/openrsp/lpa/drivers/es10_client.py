"""ES10 over APDUs, the LPA side: one logical channel to the ISD-R, requests as STORE DATA blocks.

The sequence is lpac's (see interop-notes.md): TERMINAL CAPABILITY on the basic channel (answer
ignored), MANAGE CHANNEL open, SELECT ISD-R on the new channel, then per request STORE DATA blocks
(P1 11 / 91, P2 = block number, no Le) and GET RESPONSE while the card answers 61xx.
"""

from __future__ import annotations

from openrsp.apdu import (
    INS_GET_RESPONSE,
    INS_MANAGE_CHANNEL,
    INS_SELECT,
    INS_STORE_DATA,
    ISD_R_AID,
    SW1_MORE_DATA,
    SW1_WRONG_LE,
    SW_OK,
    CommandApdu,
    ResponseApdu,
    StatusWordError,
    decode_cla,
    encode_cla,
)
from openrsp.errors import InputError, OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.lpa.drivers.transport import ApduTransport

# lpac's TERMINAL CAPABILITY: eUICC-related terminal capabilities (A9) — LPD supported, LUI/LPD
# features as lpac announces them. The card's answer does not matter.
TERMINAL_CAPABILITY = bytes.fromhex("80AA00000AA9088100820101830107")

_GET_RESPONSE_ROUNDS = 1024  # 256 KB of response: far above any ES10 answer, stops a looping card


class Es10TransportError(OpenRSPError):
    """The card answered an APDU of the ES10 exchange with an unexpected status word."""

    def __init__(self, what: str, sw: int) -> None:
        self.what = what
        self.sw = sw
        super().__init__(f"{what}: card answered {sw:04X}")


class Es10Client:
    """Sends whole ES10 requests to the ISD-R and returns whole responses (DER bytes)."""

    def __init__(
        self,
        transport: ApduTransport,
        block_size: int = 120,
        *,
        isd_r_aid: bytes = ISD_R_AID,
        send_terminal_capability: bool = True,
    ) -> None:
        if not 1 <= block_size <= 255:
            raise InputError(f"STORE DATA block size must be 1..255, not {block_size}")
        self.transport = transport
        self.block_size = block_size
        self.isd_r_aid = isd_r_aid
        self._send_terminal_capability = send_terminal_capability
        self.channel: int | None = None
        self.isd_r_fci: bytes | None = None

    # --- session --------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the logical channel and select the ISD-R there (done by the first `call`)."""
        if self.channel is not None:
            return
        if self._send_terminal_capability:
            self.transport.transmit(TERMINAL_CAPABILITY)
        opened = self._exchange(CommandApdu(0x00, INS_MANAGE_CHANNEL, 0x00, 0x00, le=1))
        if opened.sw != SW_OK or len(opened.data) != 1:
            raise Es10TransportError("MANAGE CHANNEL open", opened.sw)
        channel = opened.data[0]
        select = CommandApdu(encode_cla(channel, proprietary=False), INS_SELECT, 0x04, 0x00, self.isd_r_aid)
        selected = self._with_get_response(select, channel)
        if selected.sw != SW_OK:
            self._close_channel(channel)
            raise Es10TransportError("SELECT ISD-R", selected.sw)
        self.channel = channel
        self.isd_r_fci = selected.data

    def close(self) -> None:
        """Close the logical channel (the transport stays open: it belongs to the caller)."""
        if self.channel is None:
            return
        channel, self.channel = self.channel, None
        self._close_channel(channel)

    def __enter__(self) -> Es10Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- ES10 -----------------------------------------------------------------------------------
    def call(self, request: bytes) -> bytes:
        """One ES10 request (DER) in, the card's whole response out (empty for intermediate segments)."""
        if not request:
            raise InputError("an ES10 request cannot be empty")
        self.open()
        assert self.channel is not None
        cla = encode_cla(self.channel, proprietary=True)
        blocks = [request[i : i + self.block_size] for i in range(0, len(request), self.block_size)]
        for number, block in enumerate(blocks):
            last = number == len(blocks) - 1
            command = CommandApdu(cla, INS_STORE_DATA, 0x91 if last else 0x11, number & 0xFF, block)
            if not last:
                answer = self._exchange(command)
                if answer.sw != SW_OK:
                    raise Es10TransportError(f"STORE DATA block {number}", answer.sw)
                continue
            answer = self._with_get_response(command, self.channel)
            if answer.sw != SW_OK:
                raise Es10TransportError(f"STORE DATA block {number} (last)", answer.sw)
            return answer.data
        raise AssertionError("unreachable: a non-empty request has a last block")

    def transmit_apdu(self, apdu: bytes) -> bytes:
        """Send any APDU as given (the USIM path) and return data + SW, with 61xx/6Cxx followed."""
        command = CommandApdu.parse(apdu)
        try:
            channel = decode_cla(command.cla).channel
        except StatusWordError:  # a class this layer does not decode (e.g. GSM A0): basic channel
            channel = 0
        return self._with_get_response(command, channel, usim=True).to_bytes()

    # --- plumbing -------------------------------------------------------------------------------
    def _exchange(self, command: CommandApdu) -> ResponseApdu:
        return ResponseApdu.parse(self.transport.transmit(command.to_bytes()))

    def _with_get_response(self, command: CommandApdu, channel: int, *, usim: bool = False) -> ResponseApdu:
        answer = self._exchange(command)
        if answer.sw1 == SW1_WRONG_LE:  # T=0 style: "ask again with Le = xx"
            answer = self._exchange(
                CommandApdu(command.cla, command.ins, command.p1, command.p2, command.data, answer.sw2 or 256)
            )
        data = bytearray(answer.data)
        # lpac fetches ES10 answers with 8x C0; ETSI TS 102 221 (USIM) defines GET RESPONSE as 0x C0.
        get_response_cla = encode_cla(channel, proprietary=not usim)
        for _ in range(_GET_RESPONSE_ROUNDS):
            if answer.sw1 != SW1_MORE_DATA:
                return ResponseApdu(bytes(data), answer.sw)
            answer = self._exchange(
                CommandApdu(get_response_cla, INS_GET_RESPONSE, 0, 0, le=answer.sw2 or 256)
            )
            if answer.sw1 == SW1_WRONG_LE:
                answer = self._exchange(
                    CommandApdu(get_response_cla, INS_GET_RESPONSE, 0, 0, le=answer.sw2 or 256)
                )
            data += answer.data
        raise Es10TransportError(f"GET RESPONSE after {to_hex(command.to_bytes()[:4])} never ends", answer.sw)

    def _close_channel(self, channel: int) -> None:
        # lpac sends Le=00 here; a card that already dropped the channel (reset) may refuse, fine.
        self._exchange(CommandApdu(0x00, INS_MANAGE_CHANNEL, 0x80, channel, le=256))
