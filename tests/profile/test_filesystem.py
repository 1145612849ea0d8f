"""The file model: fill patterns, offsets, record files and GenericFileManagement paths."""

from openrsp.profile import ProfilePackage

HEADER = (
    "header",
    {
        "major-version": 2,
        "minor-version": 3,
        "iccid": bytes.fromhex("89490012345678901231"),
        "eUICC-Mandatory-services": {"usim": None},
        "eUICC-Mandatory-GFSTEList": [],
    },
)
END = ("end", {"end-header": {"identification": 99}})


def ef(fid: str, descriptor: str, size: int | None = None, **info) -> dict:
    fcp = {"fileDescriptor": bytes.fromhex(descriptor), "fileID": bytes.fromhex(fid)}
    if size is not None:
        fcp["efFileSize"] = size.to_bytes(2 if size > 255 else 1, "big")
    if info:
        fcp["proprietaryEFInfo"] = info
    return fcp


def package(*elements) -> ProfilePackage:
    # Through DER and back, as a real package would arrive.
    return ProfilePackage.from_der(ProfilePackage.from_elements([HEADER, *elements, END]).to_der())


def test_generic_file_management_fills_and_names_files():
    gfm = (
        "genericFileManagement",
        {
            "gfm-header": {"identification": 1},
            "fileManagementCMD": [
                [
                    ("filePath", bytes.fromhex("7F10")),
                    ("createFCP", ef("6F01", "4121", 8, fillPattern=b"\x01\x02\xff")),
                    ("createFCP", ef("6F02", "4121", 6, repeatPattern=b"\xab\xcd")),
                    ("fillFileOffset", 2),
                    ("fillFileContent", b"\x00"),
                    ("createFCP", ef("6F03", "42210004", 12, fillPattern=b"\x00\xff")),
                    ("fillFileContent", b"\x11\x22\x33\x44"),
                    ("fillFileOffset", 4),
                    ("fillFileContent", b"\x55"),
                    ("createFCP", {"fileID": bytes.fromhex("5F01"), "pinStatusTemplateDO": b"\x01"}),
                    ("filePath", bytes.fromhex("3F007F105F01")),
                    ("createFCP", ef("4F01", "4121", 2)),
                ]
            ],
        },
    )
    fs = package(gfm).file_system

    assert fs["MF/DF.7F10/EF.6F01"].content == bytes.fromhex("0102FFFFFFFFFFFF")
    assert fs["MF/DF.7F10/EF.6F02"].content == bytes.fromhex("ABCD00CDABCD")
    records = fs["MF/DF.7F10/EF.6F03"].records()
    assert records == [bytes.fromhex("11223344"), bytes.fromhex("00FFFFFF"), bytes.fromhex("55FFFFFF")]
    assert fs["MF/DF.7F10/DF.5F01"].is_directory
    assert fs["MF/DF.7F10/DF.5F01/EF.4F01"].content == b"\xff\xff"


def test_template_files_without_a_size_use_the_known_size_or_what_is_written():
    usim = (
        "usim",
        {
            "usim-header": {"identification": 2},
            "templateID": "2.23.143.1.2.4",
            "adf-usim": [
                ("fileDescriptor", {"fileID": b"\x7f\xd0", "dfName": bytes.fromhex("A0000000871002FF")})
            ],
            "ef-imsi": [("fillFileContent", bytes.fromhex("0809101010325406"))],
            "ef-arr": [],
            "ef-ust": [("fillFileContent", b"\x02")],
            "ef-spn": [("fileDescriptor", ef("6F46", "4121", fillPattern=b"\x01AB\xff"))],
            "ef-est": [("doNotCreate", None)],
            "ef-acc": [("fillFileContent", b"\x00\x01")],
            "ef-ecc": [],
        },
    )
    pkg = package(usim)
    files = pkg.files
    assert files["ADF.USIM/EF.IMSI"] == bytes.fromhex("0809101010325406FF")  # template size 9
    assert files["ADF.USIM/EF.UST"] == b"\x02"  # size left to the template: what is written
    assert files["ADF.USIM/EF.SPN"] == b"\x01AB" + b"\xff" * 14
    assert "ADF.USIM/EF.EST" not in files
    assert pkg.usim_aid == bytes.fromhex("A0000000871002FF")
    assert pkg.spn == "AB"
