"""ProfilePackage over every TS.48 package: identifiers, keys, files and exact bytes."""

import pytest

from openrsp.profile import ProfileError, ProfilePackage, luhn_valid


def test_there_are_36_packages(ts48_dir):
    assert len(list(ts48_dir.glob("*.der"))) == 36


def test_package_gives_its_subscriber_data(ts48_package):
    der = ts48_package.read_bytes()
    package = ProfilePackage.from_der(der)

    assert package.iccid.startswith("89") and len(package.iccid) in (19, 20)
    assert luhn_valid(package.iccid)
    assert package.ef_iccid == package.iccid  # header (plain BCD) and EF.ICCID (swapped) agree
    assert package.imsi == "001010123456063"
    assert package.aka is not None
    assert package.aka.algorithm in ("milenage", "tuak", "usim-test-algorithm")
    assert len(package.aka.ki) == 16 and len(package.aka.opc) == 16
    assert package.usim_aid.hex().upper().startswith("A0000000871002")
    assert package.profile_type == "GSMA Generic eUICC Test Profile"
    assert package.spn == "GSMA_TEST"
    assert package.version[0] == 2


def test_package_bytes_are_kept_exactly(ts48_package):
    der = ts48_package.read_bytes()
    package = ProfilePackage.from_der(der)

    assert package.to_der() == der
    assert b"".join(package.element_tlvs()) == der
    assert package.element_kinds[0] == "header" and package.element_kinds[-1] == "end"
    assert len(package.element_tlvs()) == len(package.elements)
    assert ProfilePackage.from_elements(package.elements).to_der() == der


def test_file_model_has_the_usual_files(ts48_package):
    package = ProfilePackage.from_der(ts48_package.read_bytes())
    files = package.files

    assert len(files["MF/EF.ICCID"]) == 10
    assert files["ADF.USIM/EF.IMSI"] == bytes.fromhex("080910101032540636")
    assert files["ADF.USIM/EF.AD"][:1] == b"\x80"  # TS.48 cards run in type-approval mode
    assert len(files["ADF.USIM/EF.SPN"]) == 17
    assert files["ADF.USIM/EF.KEYS"] == b"\x07" + b"\xff" * 32  # fillPattern 07 FF over 33 bytes
    assert "MF/DF.TELECOM" in files and "ADF.ISIM/EF.IMPI" in files
    ecc = package.file_system["ADF.USIM/EF.ECC"]
    assert ecc.structure == "linear-fixed" and ecc.records()[0][:3] == bytes.fromhex("11F2FF")


def test_generic_file_management_files_are_named_by_file_id(ts48_dir):
    package = ProfilePackage.from_der((ts48_dir / "TS48v5_SAIP2.3_NoBERTLV.der").read_bytes())
    phonebook = package.file_system["MF/DF.TELECOM/DF.PHONEBOOK/EF.4F3A"]
    assert phonebook.structure == "linear-fixed"
    assert phonebook.records()[0].startswith(b"Testnr.1")
    assert package.file_system["MF/DF.7F66/DF.5F40"].is_directory


@pytest.mark.parametrize(
    "junk",
    [b"", b"\x00\x00", b"\xff" * 10, b"\x30\x03\x02\x01\x00", bytes.fromhex("A0038001")],
)
def test_junk_is_refused_with_a_typed_error(junk):
    with pytest.raises(ProfileError):
        ProfilePackage.from_der(junk)


def test_a_package_cut_short_is_refused(ts48_sample):
    der = ts48_sample.read_bytes()
    with pytest.raises(ProfileError, match="not a profile package"):
        ProfilePackage.from_der(der[:-3])
    package = ProfilePackage.from_der(der)
    without_end = b"".join(package.element_tlvs()[:-1])
    with pytest.raises(ProfileError, match="End"):
        ProfilePackage.from_der(without_end)
    with pytest.raises(ProfileError, match="ProfileHeader"):
        ProfilePackage.from_der(b"".join(package.element_tlvs()[1:]))
