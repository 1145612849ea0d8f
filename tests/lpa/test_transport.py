"""The LPA's ES10 client against the card's ISO 7816 layer, in one process."""

import hashlib

import pytest

from openrsp.apdu import ISD_R_AID, CommandApdu, ResponseApdu, StatusWordError
from openrsp.errors import InputError, OpenRSPError
from openrsp.euicc.iso7816 import Iso7816Card
from openrsp.lpa.drivers.es10_client import Es10Client, Es10TransportError
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.lpa.drivers.transport import TransportError

EID = bytes.fromhex("89049032123451234512345678901235")
BIG_RESPONSE = bytes.fromhex("BF228202B7") + bytes(i % 253 for i in range(695))
USIM_AID = bytes.fromhex("A0000000871002FF49FFFF89040B00FF")


class SmallIsdR:
    """Just enough ES10 to exercise the transport: EID, a 700-byte answer, a digest, an error."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    def handle_es10(self, request: bytes) -> bytes:
        self.requests.append(request)
        tag = request[:2]
        if tag == b"\xbf\x3e":
            return bytes.fromhex("BF3E125A10") + EID
        if tag == b"\xbf\x22":
            return BIG_RESPONSE
        if tag == b"\xbf\x36":
            return b""
        if tag == b"\xbf\x50":
            return hashlib.sha256(request).digest()
        raise StatusWordError(0x6A88)

    def on_reset(self) -> None:
        pass


class SmallUsim:
    aid = USIM_AID

    def select(self) -> bytes:
        return bytes.fromhex("6203820178")

    def process(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xB0:
            return ResponseApdu(bytes(300))
        raise StatusWordError(0x6D00)

    def on_reset(self) -> None:
        pass


class RecordingTransport(InProcessTransport):
    """Keeps every APDU exchanged, so tests can compare with what lpac sends."""

    def __init__(self, card: Iso7816Card) -> None:
        super().__init__(card)
        self.log: list[tuple[str, str]] = []

    def transmit(self, apdu: bytes) -> bytes:
        response = super().transmit(apdu)
        self.log.append((apdu.hex().upper(), response.hex().upper()))
        return response


@pytest.fixture
def isd_r() -> SmallIsdR:
    return SmallIsdR()


@pytest.fixture
def card(isd_r) -> Iso7816Card:
    return Iso7816Card(isd_r, [SmallUsim()])


@pytest.fixture
def transport(card) -> RecordingTransport:
    return RecordingTransport(card)


def test_first_call_opens_a_channel_the_way_lpac_does(transport):
    client = Es10Client(transport)
    assert client.call(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E125A10") + EID
    sent = [apdu for apdu, _ in transport.log]
    assert sent[:2] == ["80AA00000AA9088100820101830107", "0070000001"]
    assert sent[2] == "01A4040010" + ISD_R_AID.hex().upper()  # SELECT without Le, as lpac
    assert sent[-1] == "81E2910006BF3E035C015A"
    assert client.channel == 1 and client.isd_r_fci is not None and ISD_R_AID in client.isd_r_fci

    client.call(bytes.fromhex("BF3E035C015A"))  # the channel is opened once
    assert [apdu for apdu, _ in transport.log].count("0070000001") == 1
    client.close()
    assert transport.log[-1] == ("0070800100", "9000")


def test_long_answers_are_collected_with_get_response(transport):
    with Es10Client(transport) as client:
        assert client.call(bytes.fromhex("BF2200")) == BIG_RESPONSE
    sent = [apdu for apdu, _ in transport.log]
    after_request = sent[sent.index("81E2910003BF2200") + 1 :]
    assert after_request == ["81C0000000", "81C00000BC", "0070800100"]


@pytest.mark.parametrize(("block_size", "blocks"), [(120, 18), (255, 9)])
def test_long_requests_go_in_store_data_blocks(transport, isd_r, block_size, blocks):
    request = bytes.fromhex("BF50820800") + bytes(i * 13 % 256 for i in range(2048))
    with Es10Client(transport, block_size=block_size) as client:
        assert client.call(request) == hashlib.sha256(request).digest()
    assert isd_r.requests == [request]
    store_data = [apdu for apdu, _ in transport.log if apdu[2:4] == "E2"]
    assert len(store_data) == blocks
    assert [apdu[4:8] for apdu in store_data] == [f"11{n:02X}" for n in range(blocks - 1)] + [
        f"91{blocks - 1:02X}"
    ]
    assert all(int(apdu[8:10], 16) == len(apdu) // 2 - 5 for apdu in store_data)  # no Le byte
    assert all(int(apdu[8:10], 16) <= block_size for apdu in store_data)


def test_an_empty_answer_comes_back_empty(transport):
    with Es10Client(transport) as client:
        assert client.call(bytes.fromhex("BF3600")) == b""


def test_a_refused_request_raises_with_the_status_word(transport):
    client = Es10Client(transport)
    with pytest.raises(Es10TransportError) as caught:
        client.call(bytes.fromhex("BF4100"))
    assert caught.value.sw == 0x6A88
    assert "6A88" in str(caught.value)
    assert isinstance(caught.value, OpenRSPError)
    # The session is still usable afterwards.
    assert client.call(bytes.fromhex("BF3E035C015A")).startswith(bytes.fromhex("BF3E"))


def test_a_card_without_the_isd_r_is_reported(isd_r):
    card = Iso7816Card(isd_r, isd_r_aid=bytes.fromhex("A0000005591010FFFFFFFF8900000200"))
    client = Es10Client(InProcessTransport(card))
    with pytest.raises(Es10TransportError) as caught:
        client.call(bytes.fromhex("BF3E035C015A"))
    assert caught.value.sw == 0x6A82
    assert card.open_channels == [0]  # the channel it opened was closed again


def test_a_reset_card_makes_the_next_call_fail_with_the_status_word(transport, card):
    client = Es10Client(transport)
    client.call(bytes.fromhex("BF3E035C015A"))
    transport.reset()
    with pytest.raises(Es10TransportError) as caught:
        client.call(bytes.fromhex("BF3E035C015A"))
    assert caught.value.sw == 0x6881


def test_raw_apdus_follow_61xx_for_the_usim_path(transport):
    client = Es10Client(transport)
    channel = client.transmit_apdu(bytes.fromhex("0070000001"))
    assert channel == bytes.fromhex("019000")
    fcp = client.transmit_apdu(bytes.fromhex("01A4040410") + USIM_AID)
    assert fcp == bytes.fromhex("62038201789000")
    assert client.transmit_apdu(bytes.fromhex("01B0000000")) == bytes(300) + b"\x90\x00"
    assert transport.log[-1][0] == "01C000002C"  # GET RESPONSE in the USIM's (interindustry) class


def test_bad_block_size_and_empty_request_are_input_errors(transport):
    with pytest.raises(InputError):
        Es10Client(transport, block_size=256)
    with pytest.raises(InputError):
        Es10Client(transport).call(b"")


def test_closed_in_process_transport_refuses_apdus(card):
    transport = InProcessTransport(card)
    transport.close()
    with pytest.raises(TransportError):
        transport.transmit(bytes.fromhex("0070000001"))
