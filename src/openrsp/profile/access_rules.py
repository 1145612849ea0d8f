"""Access rules for the EF.ARR files of generated profiles (ETSI TS 102 221 §9.2.4, expanded format).

A rule is an access-mode data object (tag 80: which operations) followed by the condition that
allows them: always ('90 00'), never ('97 00'), or verification of a key reference (template A4:
key reference 83, usage qualifier 95 = 08 'user verification').
"""

from __future__ import annotations

# Access-mode bits for EFs ...
READ = 0x01
UPDATE = 0x02
DEACTIVATE = 0x08
ACTIVATE = 0x10
# ... and for DFs/ADFs: delete child, create EF, create DF, deactivate, activate, terminate, delete.
DF_ADMINISTRATION = 0x7F

# Key references of ETSI TS 102 221 §9.5.1: global PIN1, local PIN2 of the first application, ADM1.
PIN1 = 0x01
PIN2 = 0x81
ADM1 = 0x0A

ALWAYS = bytes.fromhex("9000")
NEVER = bytes.fromhex("9700")


def verify(key_reference: int) -> bytes:
    """Condition: the key reference has been verified (user verification)."""
    return bytes([0xA4, 0x06, 0x83, 0x01, key_reference, 0x95, 0x01, 0x08])


def rule(access_mode: int, condition: bytes) -> bytes:
    return bytes([0x80, 0x01, access_mode]) + condition


def ef_rules(read: bytes, update: bytes) -> bytes:
    """The usual EF record: read and update conditions; (de)activation by the administrator."""
    return rule(READ, read) + rule(UPDATE, update) + rule(ACTIVATE | DEACTIVATE, verify(ADM1))


# Records of the MF's EF.ARR (file 2F06): used by the MF, the ADFs and the EFs under the MF.
MF_RECORDS = [
    rule(DF_ADMINISTRATION, verify(ADM1)),  # 1: directories
    ef_rules(ALWAYS, verify(ADM1)),  # 2: readable by all, written by the operator
]
MF_DIRECTORY, MF_EF_PUBLIC = 1, 2

# Records of the USIM's EF.ARR (file 6F06 in the ADF): used by the USIM's EFs.
USIM_RECORDS = [
    ef_rules(ALWAYS, verify(ADM1)),  # 1: public, operator-written (AD, SPN, ECC, ARR)
    ef_rules(verify(PIN1), verify(ADM1)),  # 2: subscriber data (IMSI, ACC, UST, THRESHOLD)
    ef_rules(verify(PIN1), verify(PIN1)),  # 3: written by the phone (keys, locations, MSISDN)
    ef_rules(verify(PIN1), verify(PIN2)),  # 4: guarded by PIN2 (EST)
]
USIM_PUBLIC, USIM_SUBSCRIBER, USIM_PHONE, USIM_PIN2 = 1, 2, 3, 4


def arr_reference(arr_file_id: bytes, record: int) -> bytes:
    """securityAttributesReferenced: the EF.ARR file id and the record that applies."""
    return arr_file_id + bytes([record])


def record_length(records: list[bytes]) -> int:
    return max(len(r) for r in records)
