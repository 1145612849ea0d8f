"""Build a SAIP profile package from subscriber data, without any template file.

The package has the shape of a GSMA TS.48 package, reduced to what a USIM subscription needs:
ProfileHeader, MF (EF.ICCID, EF.DIR, EF.ARR), PUK and PIN codes for the MF, the USIM with its
mandatory EFs and the ones a phone reads at attach, the optional-USIM EF.MSISDN, the USIM's PIN2,
the AKA parameters, End. Every EF carries a full FCP (id, structure, size, access rule), so the
package does not lean on template defaults for anything it states.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import Asn1Error, saip
from openrsp.asn1.tlv import encode_tlv
from openrsp.profile import access_rules as ar
from openrsp.profile.alpha import encode_alpha, encode_dialling_number, encode_spn
from openrsp.profile.errors import ProfileError
from openrsp.profile.identifiers import (
    encode_header_iccid,
    encode_iccid,
    encode_imsi,
    encode_plmn,
    split_imsi,
)
from openrsp.profile.package import ALGORITHM_IDS, PE_TYPE
from openrsp.profile.subscription import Subscription

SAIP_VERSION = (2, 3)

# SAIP template OIDs (joint-iso-itu-t(2) international-organizations(23) tca(143) euicc-profile(1)
# templates(2) n), as the TS.48 packages use them.
TEMPLATE_MF = "2.23.143.1.2.1"
TEMPLATE_USIM = "2.23.143.1.2.4"
TEMPLATE_OPT_USIM = "2.23.143.1.2.5"

MF_ARR_ID = bytes.fromhex("2F06")
USIM_ARR_ID = bytes.fromhex("6F06")
USIM_TEMPORARY_ID = bytes.fromhex("7FD0")  # names the ADF in file paths while installing

# ETSI TS 102 221 file descriptors: shareable transparent / linear-fixed EF (+ record length).
TRANSPARENT = bytes.fromhex("4121")
LINEAR_FIXED = bytes.fromhex("4221")

# USIM services (3GPP TS 31.102 §4.2.8) the generated USIM offers; 19 (SPN) only with an SPN.
SERVICE_SPN = 19
BASE_SERVICES = (
    21,  # MSISDN
    33,  # shall be set to '1'
    34,  # Enabled Services Table
    85,  # EPS mobility management information (EF.EPSLOCI, EF.EPSNSC)
)

EMERGENCY_NUMBERS = (("112", "Emergency"), ("911", "Emergency"))
ECC_ALPHA_BYTES = 10
MSISDN_ALPHA_BYTES = 14
MSISDN_RECORDS = 2
EPSNSC_RECORD_BYTES = 54
LOCATION_NOT_UPDATED = 0x01
DELETED_LAC = bytes.fromhex("FFFE")

# pinAttributes as the TS.48 profiles set them: 7/6 for a PIN1 the user may disable
# (verification on/off), 3 for PIN2 and ADM1, which cannot be disabled.
PIN1_ENABLED_ATTRIBUTES = 7
PIN1_DISABLED_ATTRIBUTES = 6
FIXED_PIN_ATTRIBUTES = 3
PIN_TRIES = 0x33  # high nibble: maximum attempts (3), low nibble: attempts left (3)
PUK_TRIES = 0xAA  # 10 and 10


def _size(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _ef(file_id: str, arr: bytes, content: bytes, descriptor: bytes = TRANSPARENT) -> list[tuple[str, Any]]:
    """A template File: full FCP, then its whole content."""
    fcp = {
        "fileDescriptor": descriptor,
        "fileID": bytes.fromhex(file_id),
        "securityAttributesReferenced": arr,
        "efFileSize": _size(len(content)),
    }
    return [("fileDescriptor", fcp), ("fillFileContent", content)]


def _record_ef(file_id: str, arr: bytes, records: list[bytes]) -> list[tuple[str, Any]]:
    length = len(records[0])
    descriptor = LINEAR_FIXED + length.to_bytes(2, "big")
    return _ef(file_id, arr, b"".join(records), descriptor)


def _pad_records(records: list[bytes]) -> list[bytes]:
    length = ar.record_length(records)
    return [r.ljust(length, b"\xff") for r in records]


def _code(digits: str) -> bytes:
    """A PIN/PUK/ADM value: ASCII digits padded with 0xFF to 8 bytes."""
    return digits.encode("ascii").ljust(8, b"\xff")


def _service_table(services: set[int]) -> bytes:
    table = bytearray((max(services) + 7) // 8)
    for number in services:
        table[(number - 1) // 8] |= 1 << ((number - 1) % 8)
    return bytes(table)


def _mf(sub: Subscription) -> dict[str, Any]:
    public = ar.arr_reference(MF_ARR_ID, ar.MF_EF_PUBLIC)
    dir_record = encode_tlv(0x61, encode_tlv(0x4F, sub.usim_aid) + encode_tlv(0x50, b"USIM"))
    return {
        "templateID": TEMPLATE_MF,
        "mf": [
            (
                "fileDescriptor",
                {
                    "securityAttributesReferenced": ar.arr_reference(MF_ARR_ID, ar.MF_DIRECTORY),
                    "pinStatusTemplateDO": bytes([ar.PIN1, ar.ADM1]),
                },
            )
        ],
        "ef-iccid": _ef("2FE2", public, encode_iccid(sub.iccid)),
        "ef-dir": _record_ef("2F00", public, [dir_record.ljust(32, b"\xff")]),
        "ef-arr": _record_ef("2F06", public, _pad_records(list(ar.MF_RECORDS))),
    }


def _usim(sub: Subscription) -> dict[str, Any]:
    public = ar.arr_reference(USIM_ARR_ID, ar.USIM_PUBLIC)
    subscriber = ar.arr_reference(USIM_ARR_ID, ar.USIM_SUBSCRIBER)
    phone = ar.arr_reference(USIM_ARR_ID, ar.USIM_PHONE)
    pin2 = ar.arr_reference(USIM_ARR_ID, ar.USIM_PIN2)
    plmn = encode_plmn(*split_imsi(sub.imsi, sub.mnc_length))
    services = set(BASE_SERVICES) | ({SERVICE_SPN} if sub.spn else set())
    access_class = 1 << int(sub.imsi[-1])  # classes 0-9 follow the IMSI's last digit
    emergency = [
        _swap_number(number) + encode_alpha(label, ECC_ALPHA_BYTES) + b"\x00"
        for number, label in EMERGENCY_NUMBERS
    ]
    no_security_context = b"\x07" + b"\xff" * 32  # key set identifier 7: no keys
    return {
        "templateID": TEMPLATE_USIM,
        "adf-usim": [
            (
                "fileDescriptor",
                {
                    "fileID": USIM_TEMPORARY_ID,
                    "dfName": sub.usim_aid,
                    "securityAttributesReferenced": ar.arr_reference(MF_ARR_ID, ar.MF_DIRECTORY),
                    "pinStatusTemplateDO": bytes([ar.PIN2, ar.PIN1, ar.ADM1]),
                },
            )
        ],
        "ef-imsi": _ef("6F07", subscriber, encode_imsi(sub.imsi)),
        "ef-arr": _record_ef("6F06", public, _pad_records(list(ar.USIM_RECORDS))),
        "ef-keys": _ef("6F08", phone, no_security_context),
        "ef-keysPS": _ef("6F09", phone, no_security_context),
        "ef-ust": _ef("6F38", subscriber, _service_table(services)),
        "ef-spn": _ef("6F46", public, encode_spn(sub.spn) if sub.spn else b"\xff" * 17),
        "ef-est": _ef("6F56", pin2, b"\x00"),
        "ef-start-hfn": _ef("6F5B", phone, bytes.fromhex("F00000F00000")),
        "ef-threshold": _ef("6F5C", subscriber, b"\xff\xff\xff"),
        "ef-psloci": _ef(
            "6F73", phone, b"\xff" * 7 + plmn + DELETED_LAC + b"\xff" + bytes([LOCATION_NOT_UPDATED])
        ),
        "ef-acc": _ef("6F78", subscriber, access_class.to_bytes(2, "big")),
        "ef-fplmn": _ef("6F7B", phone, b"\xff" * 12),
        "ef-loci": _ef(
            "6F7E", phone, b"\xff" * 4 + plmn + DELETED_LAC + b"\xff" + bytes([LOCATION_NOT_UPDATED])
        ),
        "ef-ad": _ef("6FAD", public, bytes([0x00, 0x00, 0x00, sub.mnc_length])),
        "ef-ecc": _record_ef("6FB7", public, emergency),
        "ef-epsloci": _ef("6FE3", phone, b"\xff" * 12 + b"\x00" * 5 + bytes([LOCATION_NOT_UPDATED])),
        "ef-epsnsc": _record_ef("6FE4", phone, [b"\xff" * EPSNSC_RECORD_BYTES]),
    }


def _swap_number(digits: str) -> bytes:
    """A short dialling string as 3 swapped-BCD bytes, F padded (EF.ECC)."""
    padded = (digits + "F" * 6)[:6]
    return bytes(int(padded[i + 1], 16) << 4 | int(padded[i], 16) for i in range(0, 6, 2))


def _opt_usim(sub: Subscription) -> dict[str, Any]:
    record_length = MSISDN_ALPHA_BYTES + 14
    records = [b"\xff" * record_length] * MSISDN_RECORDS
    if sub.msisdn:
        records[0] = encode_dialling_number(sub.msisdn, record_length)
    return {
        "templateID": TEMPLATE_OPT_USIM,
        "ef-msisdn": _record_ef("6F40", ar.arr_reference(USIM_ARR_ID, ar.USIM_PHONE), records),
    }


def _header(sub: Subscription) -> dict[str, Any]:
    algorithm = "usim-test-algorithm" if sub.algorithm == "usim-test-algorithm" else "milenage"
    return {
        "major-version": SAIP_VERSION[0],
        "minor-version": SAIP_VERSION[1],
        "profileType": sub.profile_name or f"openrsp {sub.profile_class} profile",
        "iccid": encode_header_iccid(sub.iccid),
        "eUICC-Mandatory-services": {"usim": None, algorithm: None},
        "eUICC-Mandatory-GFSTEList": [TEMPLATE_MF, TEMPLATE_USIM, TEMPLATE_OPT_USIM],
    }


def _mf_pins(sub: Subscription) -> dict[str, Any]:
    pin1_attributes = PIN1_ENABLED_ATTRIBUTES if sub.pin1_enabled else PIN1_DISABLED_ATTRIBUTES
    return {
        "pinCodes": (
            "pinconfig",
            [
                {
                    "keyReference": ar.PIN1,
                    "pinValue": _code(sub.pin1),
                    "unblockingPINReference": 1,  # PUK1
                    "pinAttributes": pin1_attributes,
                    "maxNumOfAttemps-retryNumLeft": PIN_TRIES,
                },
                {
                    "keyReference": ar.ADM1,
                    "pinValue": _code(sub.adm1),
                    "pinAttributes": FIXED_PIN_ATTRIBUTES,
                    "maxNumOfAttemps-retryNumLeft": PUK_TRIES,
                },
            ],
        )
    }


def _usim_pins(sub: Subscription) -> dict[str, Any]:
    return {
        "pinCodes": (
            "pinconfig",
            [
                {
                    "keyReference": ar.PIN2,
                    "pinValue": _code(sub.pin2),
                    "unblockingPINReference": 0x81,  # PUK2
                    "pinAttributes": FIXED_PIN_ATTRIBUTES,
                    "maxNumOfAttemps-retryNumLeft": PIN_TRIES,
                }
            ],
        )
    }


def _puks(sub: Subscription) -> dict[str, Any]:
    return {
        "pukCodes": [
            {"keyReference": 1, "pukValue": _code(sub.puk1), "maxNumOfAttemps-retryNumLeft": PUK_TRIES},
            {"keyReference": 0x81, "pukValue": _code(sub.puk2), "maxNumOfAttemps-retryNumLeft": PUK_TRIES},
        ]
    }


def _aka(sub: Subscription) -> dict[str, Any]:
    return {
        "algoConfiguration": (
            "algoParameter",
            {
                "algorithmID": ALGORITHM_IDS[sub.algorithm],
                "algorithmOptions": b"\x00",
                "key": sub.ki,
                "opc": sub.opc,
            },
        )
    }


# Each PE kind names its PEHeader member differently.
_HEADER_MEMBER = {
    "mf": "mf-header",
    "usim": "usim-header",
    "opt-usim": "optusim-header",
    "pinCodes": "pin-Header",
    "pukCodes": "puk-Header",
    "akaParameter": "aka-header",
    "end": "end-header",
}


def package_elements(sub: Subscription) -> list[tuple[str, dict[str, Any]]]:
    """The PEs of the generated package, as asn1tools values, in installation order."""
    body = [
        ("mf", _mf(sub)),
        ("pukCodes", _puks(sub)),
        ("pinCodes", _mf_pins(sub)),
        ("usim", _usim(sub)),
        ("opt-usim", _opt_usim(sub)),
        ("pinCodes", _usim_pins(sub)),
        ("akaParameter", _aka(sub)),
        ("end", {}),
    ]
    elements: list[tuple[str, dict[str, Any]]] = [("header", _header(sub))]
    for number, (kind, value) in enumerate(body, start=1):
        # 'mandated': the eUICC must refuse the package rather than skip a PE it cannot handle
        header = {"mandated": None, "identification": number}
        elements.append((kind, {_HEADER_MEMBER[kind]: header, **value}))
    return elements


def generate_package(sub: Subscription) -> bytes:
    """A complete SAIP v2.3 profile package (concatenated DER PEs) for the subscription."""
    codec = saip()
    try:
        return b"".join(codec.encode(PE_TYPE, element) for element in package_elements(sub))
    except Asn1Error as exc:
        raise ProfileError(f"cannot build the profile package: {exc}") from None
