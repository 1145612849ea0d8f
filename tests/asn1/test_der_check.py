"""The DER boundary: the structure check every untrusted byte passes, and the guarded decoders behind it."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import asn1tools
import pytest

from openrsp.asn1 import Asn1Error, rsp, saip
from openrsp.asn1.der_check import (
    MAX_DER_DEPTH,
    DerStructureError,
    _read_header,
    check_der,
    check_der_prefix,
)
from openrsp.asn1.tlv import TlvError, read_tlv
from openrsp.errors import OpenRSPError
from openrsp.profile.package import ProfilePackage


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


PKID = b"\x11" * 20


def euicc_info1() -> bytes:
    return rsp().encode(
        "EUICCInfo1",
        {
            "svn": b"\x02\x02\x02",
            "euiccCiPKIdListForVerification": [PKID, b"\x22" * 20],
            "euiccCiPKIdListForSigning": [PKID],
        },
    )


class _NoAnswer(BaseException):
    """Not an Exception: no `except Exception` in the decoder can swallow it."""


@contextlib.contextmanager
def answers_within(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the test run) when the block loops: the bug these tests guard against."""

    def expired(_signum, _frame):
        raise _NoAnswer

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _NoAnswer:
        pytest.fail(f"no answer within {seconds} s: the decoder loops")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def with_byte(data: bytes, index: int, value: int) -> bytes:
    return data[:index] + bytes([value]) + data[index + 1 :]


# --- what the check lets through ------------------------------------------------------------------


def test_real_rsp_values_certificates_and_profile_elements_pass(sgp26_dir: Path, ts48_dir: Path):
    check_der(euicc_info1())
    certificates = sorted(sgp26_dir.rglob("CERT_*.der"))
    assert len(certificates) >= 8
    for certificate in certificates:
        check_der(certificate.read_bytes())
        rsp().decode("Certificate", certificate.read_bytes())
    package = (ts48_dir / "TS48V2-SAIP2-1-BERTLV-UNIQUE.der").read_bytes()
    offset = 0
    while offset < len(package):
        offset += check_der_prefix(package[offset:])
    assert offset == len(package)
    assert ProfilePackage.from_der(package).to_der() == package


@pytest.mark.parametrize(
    "data", ["0500", "0400", "3000", "BF2000", "9F7001AA", "BF812000", "3003020105", "A002A100", "1F1F00"]
)
def test_small_well_formed_values_pass(data):
    check_der(h(data))


# --- what it refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("", "no tag"),
        ("04", "no length"),
        ("0405AABB", "wants 5 bytes"),
        ("3080 0400 0000", "indefinite"),
        ("04 8105 0102030405", "shortest"),  # long form for a short length
        ("04 820080" + "00" * 128, "shortest"),  # leading zero length byte
        ("04 85 0000000001 00", "5 bytes"),
        ("04 FF", "127 bytes"),
        ("7F14 00", "shortest"),  # two-byte tag for a number below 31
        ("BF8020 00", "shortest"),  # continuation byte 80 first
        ("BF81818101 00", "longer than"),
        ("0000", "end-of-contents"),
        ("2400", "cannot be constructed"),  # constructed OCTET STRING is BER, not DER
        ("1000", "cannot be primitive"),  # primitive SEQUENCE
        ("3003 0405 AA", "wants 5"),  # child runs past its parent
        ("0400 00", "after the DER value"),
        ("3004 0400 0500 01", "after the DER value"),
    ],
)
def test_malformed_der_is_refused(data, why):
    with pytest.raises(DerStructureError, match=why):
        check_der(h(data))


def test_nesting_deeper_than_the_limit_is_refused_without_recursion():
    deep = b"\x04\x00"
    for _ in range(5000):  # far deeper than the Python stack would allow a recursive walker
        deep = _wrap(deep)
    with pytest.raises(DerStructureError, match="nested deeper"):
        check_der(deep)
    just_right = b"\x04\x00"
    for _ in range(MAX_DER_DEPTH):
        just_right = _wrap(just_right)
    check_der(just_right)
    with pytest.raises(DerStructureError, match="nested deeper"):
        check_der(_wrap(just_right))


def _wrap(inner: bytes) -> bytes:
    length = len(inner)
    encoded = bytes([length]) if length < 128 else bytes([0x82]) + length.to_bytes(2, "big")
    if length >= 0x10000:
        encoded = bytes([0x83]) + length.to_bytes(3, "big")
    return b"\x30" + encoded + inner


def test_a_value_larger_than_the_limit_is_refused_before_its_contents_are_read():
    header = h("04 83 100000")  # announces 1 MiB
    with pytest.raises(DerStructureError, match="larger than"):
        check_der_prefix(header + b"\x00" * 0x100000, max_size=0x1000)


def test_structure_errors_are_openrsp_errors():
    assert issubclass(DerStructureError, OpenRSPError)


# --- the codec: every decode passes the check, and the decoders are guarded ---------------------


def test_the_euiccinfo1_mutation_of_the_issue_is_refused_not_looped():
    good = euicc_info1()
    index = good.index(b"\x04\x14")  # first SubjectKeyIdentifier in euiccCiPKIdListForVerification
    with answers_within(10), pytest.raises(Asn1Error, match="shortest form"):
        rsp().decode("EUICCInfo1", with_byte(good, index, 0x7F))


def test_a_well_formed_element_of_the_wrong_tag_in_a_sequence_of_is_refused():
    # 04 -> 05 keeps the DER well-formed, so only the guarded SEQUENCE OF decoder can refuse it:
    # asn1tools' own DER SEQUENCE OF loops forever on it.
    good = euicc_info1()
    bad = with_byte(good, good.index(b"\x04\x14"), 0x05)
    check_der(bad)
    with answers_within(10), pytest.raises(Asn1Error, match="SubjectKeyIdentifier"):
        rsp().decode("EUICCInfo1", bad)
    with answers_within(10), pytest.raises(asn1tools.DecodeError):  # the guard is in the spec itself
        rsp().spec.decode("EUICCInfo1", bad)


@pytest.mark.parametrize("value", range(256))
def test_every_tag_byte_in_the_ci_list_decodes_or_is_refused(value):
    good = euicc_info1()
    bad = with_byte(good, good.index(b"\x04\x14"), value)
    try:
        with answers_within(10):
            decoded = rsp().decode("EUICCInfo1", bad)
    except Asn1Error:
        return
    assert value == 0x04 and decoded["euiccCiPKIdListForVerification"][0] == PKID


def test_every_single_byte_change_of_euiccinfo1_decodes_or_is_refused():
    good = euicc_info1()
    outcomes = {"decoded": 0, "refused": 0}
    with answers_within(60):
        _decode_every_change(good, outcomes)
    assert outcomes["refused"] > 2000 and outcomes["decoded"] > 2000


def _decode_every_change(good: bytes, outcomes: dict[str, int]) -> None:
    for index in range(len(good)):
        for value in range(256):
            try:
                rsp().decode("EUICCInfo1", with_byte(good, index, value))
                outcomes["decoded"] += 1
            except Asn1Error:
                outcomes["refused"] += 1


def test_an_overlong_object_identifier_is_refused():
    oid = h("81 81 90") + b"\x81" * 143 + b"\x01"  # smdpOid [1], 144 bytes of contents
    assert read_tlv(oid).end == len(oid)
    with pytest.raises(Asn1Error, match="OBJECT IDENTIFIER of 144 bytes"):
        rsp().decode("EuiccCancelSessionSigned", h("30 81 99 80 01 01") + oid + h("82 01 00"))


def test_decode_with_length_reads_only_the_first_value():
    good = euicc_info1()
    value, used = rsp().decode_with_length("EUICCInfo1", good + h("3000 FFFF"))
    assert used == len(good) and value["svn"] == b"\x02\x02\x02"
    with pytest.raises(Asn1Error):
        rsp().decode("EUICCInfo1", good + h("3000"))


def test_a_profile_package_with_one_bad_element_is_refused(ts48_dir: Path):
    package = bytearray((ts48_dir / "TS48V2-SAIP2-1-BERTLV-UNIQUE.der").read_bytes())
    package[1] = 0x80  # indefinite length on the first PE
    with pytest.raises(OpenRSPError, match="indefinite"):
        ProfilePackage.from_der(bytes(package))
    assert saip().has_type("ProfileElement")


def test_hand_written_tlv_reader_bounds_tag_length():
    with pytest.raises(TlvError, match="longer than"):
        read_tlv(b"\x1f" + b"\xff" * 100_000 + b"\x01\x00")


def _reference_check(data: bytes) -> int:
    """check_der_prefix as it was before its inline fast path: every header through _read_header."""
    constructed, start, end = _read_header(data, 0, len(data))
    stack = [(start, end)] if constructed else []
    while stack:
        offset, limit = stack[-1]
        if offset == limit:
            stack.pop()
            continue
        constructed, child_start, child_end = _read_header(data, offset, limit)
        stack[-1] = (child_end, limit)
        if constructed:
            if len(stack) >= MAX_DER_DEPTH:
                raise DerStructureError(f"nested deeper than {MAX_DER_DEPTH} levels at offset {offset}")
            stack.append((child_start, child_end))
    return end


def _outcome(check, data: bytes) -> object:
    try:
        return check(data)
    except DerStructureError as exc:
        return str(exc)


def test_the_inline_header_path_answers_as_read_header_does(sgp26_dir: Path):
    """Every one-byte change and every cut of real values: the same end, or the same error."""
    certificate = (sgp26_dir / "eUICC/CERT_EUICC_ECDSA_NIST.der").read_bytes()
    values = [euicc_info1(), certificate[:300], h("30 06 A0 04 81 02 01 02")]
    for value in values:
        cases = [value[:cut] for cut in range(len(value))]
        for index in range(len(value)):
            cases += [
                with_byte(value, index, byte) for byte in (0x00, 0x1F, 0x20, 0x30, 0x7F, 0x80, 0x81, 0xFF)
            ]
            cases.append(with_byte(value, index, value[index] ^ 0x20))
        for case in cases:
            assert _outcome(check_der_prefix, case) == _outcome(_reference_check, case), case.hex()
