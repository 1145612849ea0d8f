"""Generated packages: they read back with the same subscriber data and look like TS.48 ones."""

import pytest

from openrsp.asn1 import saip
from openrsp.profile import ProfilePackage, Subscription, generate_package
from openrsp.profile.generate import package_elements

KI = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
OPC = bytes.fromhex("8E27B6AF0E692E750F32667A3B14605D")


def subscription(**changes) -> Subscription:
    values = dict(
        iccid="89490012345678901231",
        imsi="262019876543210",
        ki=KI,
        opc=OPC,
        msisdn="+491701234567",
        spn="openrsp",
        profile_name="openrsp test",
    )
    values.update(changes)
    return Subscription(**values)


def test_generated_package_reads_back_with_the_same_data():
    sub = subscription()
    package = ProfilePackage.from_der(generate_package(sub))

    assert package.iccid == sub.iccid
    assert package.ef_iccid == sub.iccid
    assert package.imsi == sub.imsi
    assert package.aka == ("milenage", KI, OPC)
    assert package.spn == "openrsp"
    assert package.msisdn == "+491701234567"
    assert package.usim_aid == sub.usim_aid
    assert package.profile_type == "openrsp test"
    assert package.version == (2, 3)
    assert {"usim", "milenage"} <= set(package.mandatory_services)


def test_generated_package_is_canonical_der():
    der = generate_package(subscription())
    package = ProfilePackage.from_der(der)
    codec = saip()
    assert b"".join(codec.encode("ProfileElement", e) for e in package.elements) == der


def test_generation_is_deterministic():
    assert generate_package(subscription()) == generate_package(subscription())


def test_optional_data_can_be_left_out():
    sub = subscription(msisdn=None, spn=None, profile_name=None, iccid="8949001234567890123")
    package = ProfilePackage.from_der(generate_package(sub))
    assert package.spn is None
    assert package.msisdn is None
    assert package.iccid == "8949001234567890123"
    assert package.profile_type == "openrsp operational profile"
    assert package.files["MF/EF.ICCID"].hex().upper().endswith("F3")


def test_usim_test_algorithm_profiles():
    package = ProfilePackage.from_der(generate_package(subscription(algorithm="usim-test-algorithm")))
    assert package.aka.algorithm == "usim-test-algorithm"
    assert "usim-test-algorithm" in package.mandatory_services


def test_usim_files_hold_real_content():
    sub = subscription(imsi="310410123456789", mnc_length=3)
    files = ProfilePackage.from_der(generate_package(sub)).files
    assert files["ADF.USIM/EF.AD"] == bytes.fromhex("00000003")  # normal operation, 3-digit MNC
    assert files["ADF.USIM/EF.ACC"] == bytes.fromhex("0200")  # access class 9 = last IMSI digit
    assert files["ADF.USIM/EF.LOCI"][4:7] == bytes.fromhex("130014")  # PLMN 310/410
    assert files["ADF.USIM/EF.KEYS"] == b"\x07" + b"\xff" * 32
    ust = files["ADF.USIM/EF.UST"]
    for service in (19, 21, 33, 34):  # SPN, MSISDN, 'set to 1', EST
        assert ust[(service - 1) // 8] >> ((service - 1) % 8) & 1
    assert files["MF/EF.DIR"][:2] == b"\x61\x18" and sub.usim_aid in files["MF/EF.DIR"]


def test_pin_and_puk_values_are_stored():
    sub = subscription(pin1="1234", puk1="87654321", adm1="11223344", pin1_enabled=True)
    elements = ProfilePackage.from_der(generate_package(sub)).elements
    pins = [value["pinCodes"][1] for kind, value in elements if kind == "pinCodes"]
    puks = next(value["pukCodes"] for kind, value in elements if kind == "pukCodes")
    mf_pins = {p["keyReference"]: p for p in pins[0]}
    assert mf_pins[1]["pinValue"] == b"1234\xff\xff\xff\xff"
    assert mf_pins[1]["pinAttributes"] == 7
    assert mf_pins[10]["pinValue"] == b"11223344"
    assert pins[1][0]["keyReference"] == 0x81
    assert puks[0]["pukValue"] == b"87654321"


def _file_members(value: dict) -> dict:
    """Template file members of a PE value that carry an FCP."""
    out = {}
    for member, items in value.items():
        if isinstance(items, list):
            fcp = next((v for k, v in items if k == "fileDescriptor"), None)
            if fcp is not None:
                out[member] = fcp
    return out


def test_generated_package_has_the_shape_of_a_ts48_package(ts48_sample):
    reference = ProfilePackage.from_der(ts48_sample.read_bytes())
    generated = ProfilePackage.from_der(generate_package(subscription()))

    # Same order of PE kinds: the generated ones are a subsequence of the TS.48 ones.
    remaining = iter(reference.element_kinds)
    assert all(kind in remaining for kind in generated.element_kinds)

    # Every file we create is a file TS.48 creates, with the same id and structure.
    for kind in ("mf", "usim", "opt-usim"):
        ours, theirs = _file_members(generated.first(kind)), _file_members(reference.first(kind))
        assert ours.keys() <= theirs.keys(), kind
        for member, fcp in ours.items():
            assert fcp.get("fileID") == theirs[member].get("fileID"), member
            if "fileDescriptor" in fcp:
                assert fcp["fileDescriptor"][:2] == theirs[member]["fileDescriptor"][:2], member
        assert generated.first(kind)["templateID"] == reference.first(kind)["templateID"]


def test_element_headers_are_numbered_and_mandated():
    elements = package_elements(subscription())
    numbers = [
        next(v for k, v in value.items() if k.lower().endswith("header"))["identification"]
        for kind, value in elements[1:]
    ]
    assert numbers == list(range(1, len(elements)))


@pytest.mark.parametrize("spn", ["Ω Telecom", "Ünïcödé", "€uro"])
def test_spn_round_trips_in_any_coding(spn):
    package = ProfilePackage.from_der(generate_package(subscription(spn=spn)))
    assert package.spn == spn
