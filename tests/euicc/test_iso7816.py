"""The card's ISO 7816 layer, driven with the exact bytes an LPA (lpac) sends."""

import hashlib

import pytest

from openrsp.apdu import ISD_R_AID, CommandApdu, ResponseApdu, StatusWordError
from openrsp.euicc.iso7816 import DEFAULT_ATR, Iso7816Card

EID = bytes.fromhex("89049032123451234512345678901235")
# A GetEUICCInfo2-sized answer: 700 bytes, so it needs 61xx and two GET RESPONSEs.
BIG_RESPONSE = bytes.fromhex("BF228202B7") + bytes(i % 251 for i in range(695))
USIM_AID = bytes.fromhex("A0000000871002FF49FFFF89040B00FF")
USIM_FCP = bytes.fromhex("621A8202782183027FF18410") + USIM_AID + bytes.fromhex("8A0105")
EF_CONTENT = bytes(range(256)) + bytes(44)  # 300 bytes: more than one response can carry


class SmallIsdR:
    """An ES10 application just big enough to exercise the transport (the real one lives elsewhere)."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.resets = 0

    def handle_es10(self, request: bytes) -> bytes:
        self.requests.append(request)
        tag = request[:2]
        if tag == b"\xbf\x3e":  # GetEuiccData: the EID
            return bytes.fromhex("BF3E125A10") + EID
        if tag == b"\xbf\x22":  # GetEUICCInfo2
            return BIG_RESPONSE
        if tag == b"\xbf\x36":  # an intermediate LoadBoundProfilePackage segment answers nothing
            return b""
        if tag == b"\xbf\x50":  # test-only: prove a long request arrived whole
            return bytes.fromhex("BF5022") + b"\x04\x20" + hashlib.sha256(request).digest()
        return tag + b"\x00"

    def on_reset(self) -> None:
        self.resets += 1


class SmallUsim:
    aid = USIM_AID

    def __init__(self) -> None:
        self.resets = 0

    def select(self) -> bytes:
        return USIM_FCP

    def process(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0xB0:
            return ResponseApdu(EF_CONTENT)
        raise StatusWordError(0x6D00)

    def on_reset(self) -> None:
        self.resets += 1


@pytest.fixture
def isd_r() -> SmallIsdR:
    return SmallIsdR()


@pytest.fixture
def usim() -> SmallUsim:
    return SmallUsim()


@pytest.fixture
def card(isd_r, usim) -> Iso7816Card:
    return Iso7816Card(isd_r, [usim])


def send(card: Iso7816Card, apdu_hex: str) -> str:
    return card.process(bytes.fromhex(apdu_hex)).hex().upper()


def open_isd_r(card: Iso7816Card) -> int:
    answer = send(card, "0070000001")
    assert answer[-4:] == "9000"
    channel = int(answer[:2], 16)
    cla = f"{channel:02X}" if channel < 4 else f"{0x40 + channel - 4:02X}"
    assert send(card, cla + "A4040C10" + ISD_R_AID.hex()) == "9000"
    return channel


def store_data_blocks(channel: int, request: bytes, block_size: int) -> list[str]:
    cla = 0x80 | channel
    blocks = [request[i : i + block_size] for i in range(0, len(request), block_size)]
    return [
        bytes([cla, 0xE2, 0x91 if n == len(blocks) - 1 else 0x11, n & 0xFF, len(block)]).hex().upper()
        + block.hex().upper()
        for n, block in enumerate(blocks)
    ]


def test_atr_offers_t0_and_t1_with_a_correct_check_byte():
    assert DEFAULT_ATR.hex().upper() == "3B80800101"
    t0, td1, td2, tck = DEFAULT_ATR[1:]
    assert td1 & 0x0F == 0 and td2 & 0x0F == 1  # T=0, then T=1
    assert t0 ^ td1 ^ td2 ^ tck == 0


def test_lpac_chip_info_sequence(card, isd_r):
    assert send(card, "80AA00000AA9088100820101830107") == "9000"
    assert send(card, "0070000001") == "019000"
    select = send(card, "01A4040010A0000005591010FFFFFFFF8900000100")
    assert select == "9000" or select.startswith("61")
    assert send(card, "81E2910006BF3E035C015A") == "BF3E125A10" + EID.hex().upper() + "9000"
    assert send(card, "81E2910003BF3C00") == "BF3C009000"
    assert send(card, "81E2910003BF4300") == "BF43009000"

    first = bytes.fromhex(send(card, "81E2910003BF2200"))
    assert first[:-2] == BIG_RESPONSE[:256] and first[-2:] == b"\x61\x00"  # 444 left: 61 00
    second = bytes.fromhex(send(card, "81C0000000"))
    assert second[:-2] == BIG_RESPONSE[256:512] and second[-2:] == b"\x61\xbc"  # 188 left
    third = bytes.fromhex(send(card, "81C00000BC"))
    assert third[:-2] == BIG_RESPONSE[512:] and third[-2:] == b"\x90\x00"

    assert send(card, "0070800100") == "9000"
    assert card.open_channels == [0]
    assert [r[:2] for r in isd_r.requests] == [b"\xbf\x3e", b"\xbf\x3c", b"\xbf\x43", b"\xbf\x22"]


def test_select_without_le_announces_the_fci_with_61xx(card):
    send(card, "0070000001")
    answer = send(card, "01A4040010" + ISD_R_AID.hex())
    assert answer.startswith("61")
    length = int(answer[2:], 16)
    fci = bytes.fromhex(send(card, f"01C00000{length:02X}"))
    assert fci[-2:] == b"\x90\x00"
    assert fci[0] == 0x6F and ISD_R_AID in fci


def test_select_with_le_returns_the_fci_at_once(card):
    answer = bytes.fromhex(send(card, "00A4040010" + ISD_R_AID.hex() + "00"))
    assert answer[-2:] == b"\x90\x00" and answer[0] == 0x6F and ISD_R_AID in answer


@pytest.mark.parametrize("block_size", [120, 255, 7])
def test_a_2k_request_in_blocks_arrives_whole(card, isd_r, block_size):
    channel = open_isd_r(card)
    request = bytes.fromhex("BF50820800") + bytes(i * 7 % 256 for i in range(2048))
    *middle, last = store_data_blocks(channel, request, block_size)
    for block in middle:
        assert send(card, block) == "9000"
    answer = bytes.fromhex(send(card, last))
    assert answer == bytes.fromhex("BF5022") + b"\x04\x20" + hashlib.sha256(request).digest() + b"\x90\x00"
    assert isd_r.requests == [request]


def test_block_numbers_wrap_after_255(card, isd_r):
    channel = open_isd_r(card)
    request = bytes.fromhex("BF50") + bytes(300 * 2)
    blocks = store_data_blocks(channel, request, 2)  # 301 blocks: P2 runs 00..FF, 00..2C
    assert len(blocks) > 256
    for block in blocks[:-1]:
        assert send(card, block) == "9000"
    assert send(card, blocks[-1]).endswith("9000")
    assert isd_r.requests == [request]


def test_wrong_block_number_drops_the_partial_request(card, isd_r):
    channel = open_isd_r(card)
    blocks = store_data_blocks(channel, bytes.fromhex("BF3E035C015A"), 2)  # three blocks 0, 1, 2
    assert send(card, blocks[0]) == "9000"
    assert send(card, blocks[2]) == "6A86"  # gap: block 1 missing
    assert send(card, blocks[1]) == "6A86"  # the partial request is gone, block 0 is expected again
    assert isd_r.requests == []
    for block in blocks[:-1]:
        assert send(card, block) == "9000"
    assert send(card, blocks[-1]).startswith("BF3E")


def test_first_block_must_be_number_zero(card):
    channel = open_isd_r(card)
    assert send(card, f"{0x80 | channel:02X}E2910106BF3E035C015A") == "6A86"


def test_get_response_respects_a_short_le_and_answers_6cxx_to_a_long_one(card):
    channel = open_isd_r(card)
    cla = f"{0x80 | channel:02X}"
    assert send(card, cla + "E2910003BF2200").endswith("6100")
    part = bytes.fromhex(send(card, cla + "C0000010"))
    assert part[:-2] == BIG_RESPONSE[256:272] and part[-2:] == b"\x61\x00"  # 428 left
    assert send(card, cla + "C0000000")[-4:] == "61AC"  # 172 left
    rest = bytes.fromhex(send(card, cla + "C0000000"))  # Le=00: "up to 256" takes what is left
    assert rest[:-2] == BIG_RESPONSE[528:] and rest[-2:] == b"\x90\x00"
    assert send(card, cla + "C0000000") == "6985"  # nothing pending any more

    assert send(card, cla + "E2910003BF2200").endswith("6100")
    assert send(card, cla + "C0000000").endswith("61BC")
    assert send(card, cla + "C00000FF") == "6CBC"  # too long: the card says how much there is
    rest = bytes.fromhex(send(card, cla + "C00000BC"))
    assert rest[:-2] == BIG_RESPONSE[512:] and rest[-2:] == b"\x90\x00"


def test_empty_es10_answer_is_plain_9000(card):
    channel = open_isd_r(card)
    assert send(card, f"{0x80 | channel:02X}E2910003BF3600") == "9000"


def test_channels_are_isolated(card, isd_r):
    one = open_isd_r(card)
    two = int(send(card, "0070000001")[:2], 16)
    assert two != one
    # Nothing selected on the second channel yet.
    assert send(card, f"{0x80 | two:02X}E2910006BF3E035C015A") == "6985"
    assert send(card, f"{two:02X}A4040C10" + ISD_R_AID.hex()) == "9000"

    # A half-sent request on one channel survives a whole exchange on the other one.
    blocks = store_data_blocks(one, bytes.fromhex("BF3E035C015A"), 3)
    assert send(card, blocks[0]) == "9000"
    assert send(card, f"{0x80 | two:02X}E2910003BF2200").endswith("6100")  # leaves a pending answer
    assert send(card, blocks[1]).startswith("BF3E")
    # ...and the pending GET RESPONSE data of channel two is still there.
    assert bytes.fromhex(send(card, f"{0x80 | two:02X}C0000000"))[:-2] == BIG_RESPONSE[256:512]

    assert send(card, f"0070800{one}00") == "9000"
    assert send(card, blocks[0]) == "6881"  # closed channel
    assert send(card, f"{0x80 | two:02X}E2910003BF4300") == "BF43009000"


def test_up_to_twenty_channels_with_extended_class_bytes(card):
    opened = [int(send(card, "0070000001")[:2], 16) for _ in range(19)]
    assert opened == list(range(1, 20))
    assert send(card, "0070000001") == "6A81"  # all in use
    # Channel 5 is addressed as CLA 0x41 (interindustry) / 0xC1 (proprietary).
    assert send(card, "41A4040C10" + ISD_R_AID.hex()) == "9000"
    assert send(card, "C1E2910006BF3E035C015A").startswith("BF3E125A10")
    assert send(card, "0070800500") == "9000"
    assert send(card, "0070000001") == "059000"  # the lowest free number comes back


def test_reset_drops_channels_partial_requests_and_pending_answers(card, isd_r, usim):
    channel = open_isd_r(card)
    cla = f"{0x80 | channel:02X}"
    assert send(card, cla + "E2910003BF2200").endswith("6100")
    assert card.reset() == DEFAULT_ATR
    assert isd_r.resets == 1 and usim.resets == 1
    assert send(card, cla + "C0000000") == "6881"  # the channel itself is gone
    assert card.open_channels == [0]

    # Basic channel: a pending GET RESPONSE and a partial STORE DATA do not survive a power cycle.
    assert send(card, "00A4040C10" + ISD_R_AID.hex()) == "9000"
    assert send(card, "80E2910003BF2200").endswith("6100")
    assert send(card, "80E2110003BF3E03") == "9000"
    card.power_off()
    card.reset()
    assert send(card, "80C0000000") == "6985"
    assert send(card, "80E2910003BF4300") == "6985"  # nothing selected after the reset


def test_class_instruction_parameter_and_length_errors(card):
    channel = open_isd_r(card)
    assert send(card, "A0A40000023F00") == "6E00"  # GSM class is not a UICC class
    assert send(card, "20A4040C10" + ISD_R_AID.hex()) == "6E00"
    assert send(card, f"{channel:02X}E2910003BF2200") == "6E00"  # STORE DATA needs the proprietary class
    assert send(card, f"{0x80 | channel:02X}CA00FF00") == "6D00"  # the ISD-R knows only STORE DATA
    assert send(card, "00FE000000") == "6D00"
    assert send(card, f"{0x80 | channel:02X}E2000003BF2200") == "6A86"  # P1 neither 11 nor 91
    assert send(card, "0070400000") == "6A86"
    assert send(card, "0070800000") == "6A86"  # the basic channel cannot be closed
    assert send(card, "00A4044010" + ISD_R_AID.hex()) == "6A86"
    assert send(card, f"{0x80 | channel:02X}C000") == "6700"  # too short for an APDU
    assert send(card, f"{0x80 | channel:02X}C00000") == "6700"  # GET RESPONSE without Le
    assert send(card, f"{0x80 | channel:02X}E2910005BF22") == "6700"  # Lc says more than follows
    assert send(card, f"{0x80 | channel:02X}E2910000") == "6700"  # STORE DATA without data
    assert send(card, "00A4040005A000000001") == "6A82"  # no such application
    assert send(card, "0CA4040C10" + ISD_R_AID.hex()) == "6882"  # secure messaging


def test_other_applications_get_the_same_channel_and_61xx_mechanics(card, usim):
    channel = int(send(card, "0070000001")[:2], 16)
    # Selected by a right-truncated AID, as terminals often do.
    answer = send(card, f"{channel:02X}A4040407A0000000871002")
    assert answer == f"61{len(USIM_FCP):02X}"
    assert bytes.fromhex(send(card, f"{channel:02X}C00000{len(USIM_FCP):02X}")) == USIM_FCP + b"\x90\x00"

    first = bytes.fromhex(send(card, f"{channel:02X}B0000000"))
    assert first[:-2] == EF_CONTENT[:256] and first[-2:] == b"\x61\x2c"
    rest = bytes.fromhex(send(card, f"{channel:02X}C000002C"))
    assert rest == EF_CONTENT[256:] + b"\x90\x00"

    assert send(card, f"{0x80 | channel:02X}E2910003BF2200") == "6D00"  # STORE DATA is not the USIM's
    assert send(card, "00B0000000") == "6985"  # the basic channel has nothing selected


def test_default_application_serves_a_channel_with_nothing_selected(isd_r, usim):
    card = Iso7816Card(isd_r, [], default_application=usim)
    assert bytes.fromhex(send(card, "00B000002C")) == EF_CONTENT[:44] + b"\x61\x00"


def test_a_failing_application_answers_6f00_instead_of_crashing(isd_r):
    class Broken(SmallUsim):
        def process(self, apdu: CommandApdu) -> ResponseApdu:
            raise RuntimeError("bug")

    card = Iso7816Card(isd_r, [Broken()])
    assert send(card, "00A4040C10" + USIM_AID.hex()) == "9000"
    assert send(card, "00B0000000") == "6F00"
