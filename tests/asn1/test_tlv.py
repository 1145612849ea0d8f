"""The BER-TLV toolkit: tags of one to three bytes, short and long lengths, and refusing bad input."""

import pytest

from openrsp.asn1.tlv import (
    Tlv,
    TlvError,
    encode_header,
    encode_length,
    encode_tlv,
    find_tlv,
    iter_tlvs,
    read_length,
    read_single_tlv,
    read_tag,
    read_tlv,
    tag_bytes,
)
from openrsp.errors import OpenRSPError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("data", "tag", "value"),
    [
        ("5A0A98001032547698103214", 0x5A, "98001032547698103214"),
        ("BF3E035C015A", 0xBF3E, "5C015A"),
        ("5F3702AABB", 0x5F37, "AABB"),
        ("9F700101", 0x9F70, "01"),
        ("BF2200", 0xBF22, ""),
        ("9F810302BEEF", 0x9F8103, "BEEF"),  # three-byte tag
    ],
)
def test_reads_one_and_multi_byte_tags(data, tag, value):
    tlv = read_tlv(h(data))
    assert tlv.tag == tag
    assert tlv.value == h(value)
    assert tlv.raw == h(data)
    assert tlv.end == len(h(data))
    assert tlv.header == h(data)[: tlv.header_len]
    assert tag_bytes(tag) == tlv.header[: len(tag_bytes(tag))]


def test_reads_long_form_lengths():
    value = bytes(range(256)) * 2  # 512 bytes
    short = read_tlv(h("868180") + value[:128])  # 81 80: long form for 128
    assert short.header_len == 3 and short.value == value[:128]

    one = read_tlv(h("8681C8") + value[:200])
    assert one.header == h("8681C8") and one.value == value[:200]

    two = read_tlv(h("A3820200") + value)
    assert two.header == h("A3820200") and two.value == value and two.end == 4 + 512

    three = read_tlv(h("BF368301000A") + bytes(0x1000A))
    assert three.header_len == 6 and len(three.value) == 0x1000A


def test_non_minimal_long_length_is_still_read():
    # BER allows 81 05 for 5; peers do send it, so reading accepts it
    assert read_tlv(h("04810501020304FF")).value == h("01020304FF")


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (127, "7F"),
        (128, "8180"),
        (255, "81FF"),
        (256, "820100"),
        (1020, "8203FC"),
        (65535, "82FFFF"),
        (65536, "83010000"),
    ],
)
def test_encodes_minimal_lengths(length, encoded):
    assert encode_length(length) == h(encoded)


def test_encode_tlv_round_trips_through_read_tlv():
    for tag in (0x04, 0x5A, 0xA0, 0xBF36, 0x5F49, 0x9F70, 0x9F8103):
        for size in (0, 1, 127, 128, 300, 70000):
            value = bytes([size % 251]) * size
            raw = encode_tlv(tag, value)
            tlv = read_tlv(raw)
            assert (tlv.tag, tlv.value, tlv.raw) == (tag, value, raw)


def test_encode_header_gives_the_opening_of_a_constructed_tlv():
    # what the LPA sends first for the A3 sequence of a bound profile package
    assert encode_header(0xA3, 0x2004) == h("A3822004")
    assert encode_header(0xBF36, 0x81) == h("BF368181")


def test_iter_tlvs_walks_a_buffer_and_reports_offsets():
    buf = h("800110" + "8101" + "10" + "8408" + "80" * 8)
    tlvs = list(iter_tlvs(buf))
    assert [t.tag for t in tlvs] == [0x80, 0x81, 0x84]
    assert [t.start for t in tlvs] == [0, 3, 6]
    assert tlvs[2].value == b"\x80" * 8
    assert list(iter_tlvs(b"")) == []


def test_children_and_find_in_a_constructed_tlv():
    crt = read_tlv(h("A610800188810110840880808080808080 80".replace(" ", "")))
    assert crt.constructed
    assert [c.tag for c in crt.children()] == [0x80, 0x81, 0x84]
    assert find_tlv(crt.value, 0x81).value == h("10")
    assert find_tlv(crt.value, 0x99) is None
    assert not read_tlv(h("5A0100")).constructed


def test_read_at_an_offset():
    buf = h("BF3612" + "BF2303" + "820101")
    inner = read_tlv(buf, 3)
    assert inner == Tlv(tag=0xBF23, value=h("820101"), raw=h("BF2303820101"), header_len=3, end=9)


@pytest.mark.parametrize(
    "data",
    [
        "",  # nothing at all
        "BF",  # multi-byte tag cut after its first byte
        "9F81",  # three-byte tag cut after two
        "5A",  # tag without length
        "5A0A980010",  # value shorter than its length
        "A381",  # long-form length without its length byte
        "A38201",  # two-byte length cut after one
        "860481FF",  # 4 bytes promised, 2 given
    ],
)
def test_truncation_raises_tlv_error(data):
    with pytest.raises(TlvError, match="truncated"):
        read_tlv(h(data))


def test_bad_lengths_raise_tlv_error():
    with pytest.raises(TlvError, match="indefinite"):
        read_tlv(h("3080020100 0000".replace(" ", "")))
    with pytest.raises(TlvError, match="bad length"):
        read_tlv(h("04850000000001AA"))
    with pytest.raises(TlvError):
        encode_length(-1)


def test_iter_tlvs_raises_on_a_truncated_tail():
    with pytest.raises(TlvError):
        list(iter_tlvs(h("800101" + "8102AA")))


def test_read_single_tlv_checks_trailing_bytes_and_tag():
    assert read_single_tlv(h("BF2200"), 0xBF22).tag == 0xBF22
    with pytest.raises(TlvError, match="unexpected bytes"):
        read_single_tlv(h("BF220000"))
    with pytest.raises(TlvError, match="expected tag BF20, got BF22"):
        read_single_tlv(h("BF2200"), 0xBF20)


def test_tlv_error_is_an_openrsp_error():
    # the CLI turns these into a one-line message instead of a traceback
    assert issubclass(TlvError, OpenRSPError)


def _general_read(buf: bytes, offset: int) -> Tlv:
    """read_tlv through read_tag and read_length alone (what its one-byte-tag shortcut must equal)."""
    tag, pos = read_tag(buf, offset)
    length, start = read_length(buf, pos)
    if start + length > len(buf):
        raise TlvError("truncated")
    return Tlv(
        tag,
        bytes(buf[start : start + length]),
        bytes(buf[offset : start + length]),
        start - offset,
        start + length,
    )


def test_the_short_form_shortcut_reads_what_the_general_path_reads():
    sample = h("BF38 0D A0 0B 80 01 07 5F37 02 AABB 30 02 0500".replace(" ", ""))
    cases = [sample[:cut] for cut in range(len(sample) + 1)]
    cases += [
        sample[:i] + bytes([b]) + sample[i + 1 :]
        for i in range(len(sample))
        for b in (0x00, 0x1F, 0x7F, 0x80, 0x81)
    ]
    for case in cases:
        for offset in range(len(case) + 1):
            try:
                expected: object = _general_read(case, offset)
            except TlvError:
                expected = TlvError
            try:
                found: object = read_tlv(case, offset)
            except TlvError:
                found = TlvError
            assert found == expected, (case.hex(), offset)
