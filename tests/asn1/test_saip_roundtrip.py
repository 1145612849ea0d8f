"""The SAIP PEDefinitions module against the 36 real TS.48 profile packages.

A package is a concatenation of DER ProfileElements: each must decode, the first must be the
ProfileHeader and the last the End PE, and re-encoding every decoded PE must give back the
file byte for byte.
"""

import os
from pathlib import Path

import pytest

from openrsp.asn1 import Asn1Error, saip

SHARED = Path(os.environ.get("OPENRSP_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
TS48_FILES = sorted((SHARED / "profiles" / "ts48").glob("*.der"))


def split_package(der: bytes) -> list[tuple[tuple[str, dict], bytes]]:
    codec = saip()
    out, offset = [], 0
    while offset < len(der):
        value, used = codec.decode_with_length("ProfileElement", der[offset:])
        out.append((value, der[offset : offset + used]))
        offset += used
    return out


def test_all_36_ts48_packages_are_present():
    assert len(TS48_FILES) == 36


@pytest.mark.parametrize("path", TS48_FILES, ids=[p.name for p in TS48_FILES])
def test_ts48_package_decodes_and_reencodes_byte_identically(path):
    der = path.read_bytes()
    elements = split_package(der)

    kinds = [value[0] for value, _ in elements]
    assert kinds[0] == "header"
    assert kinds[-1] == "end"
    assert None not in kinds, "an element decoded as an unknown CHOICE alternative"
    assert {"mf", "usim", "akaParameter", "pinCodes", "pukCodes"} <= set(kinds)

    codec = saip()
    reencoded = [codec.encode("ProfileElement", value) for value, _ in elements]
    assert reencoded == [raw for _, raw in elements]
    assert b"".join(reencoded) == der


def test_end_element_encodes_to_known_bytes():
    # PE-End is context tag [10] holding its PEHeader {mandated NULL, identification 31}.
    der = saip().encode("ProfileElement", ("end", {"end-header": {"mandated": None, "identification": 31}}))
    assert der.hex().upper() == "AA07A005800081011F"


def test_header_iccid_is_plain_bcd_in_ts48():
    # The TS.48 v1 package carries ICCID 89000123456789012341 in plain (not swapped) BCD.
    first, _ = split_package((SHARED / "profiles" / "ts48" / "TS48v1_A.der").read_bytes())[0]
    assert first[0] == "header"
    assert first[1]["iccid"].hex() == "89000123456789012341"
    assert first[1]["major-version"] == 2


def test_defaults_are_filled_in_on_decode_and_left_out_on_encode():
    codec = saip()
    value = (
        "akaParameter",
        {
            "aka-header": {"identification": 3},
            "algoConfiguration": (
                "algoParameter",
                {"algorithmID": 1, "algorithmOptions": b"\x00", "key": bytes(16), "opc": bytes(16)},
            ),
        },
    )
    der = codec.encode("ProfileElement", value)
    decoded = codec.decode("ProfileElement", der)
    params = decoded[1]["algoConfiguration"][1]
    assert params["rotationConstants"].hex() == "4000204060"
    assert len(params["xoringConstants"]) == 80 and params["xoringConstants"][-1] == 8
    assert decoded[1]["sqnOptions"] == b"\x02"
    assert codec.encode("ProfileElement", decoded) == der


def test_junk_is_rejected_with_a_typed_error():
    with pytest.raises(Asn1Error):
        saip().decode_with_length("ProfileElement", b"\xa0\x03\x80\x01\x02")
