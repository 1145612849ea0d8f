"""Subscriber identifiers as the card stores them: ICCID, IMSI, PLMN and the Luhn check digit.

Two ICCID codings exist side by side. EF.ICCID, SGP.22 (ProfileInfo, StoreMetadata) and the
TS.48 packages' MF use BCD with the nibbles of each byte swapped ("98 00 10 32 ..." for
"8900 0123 ..."). The SAIP ProfileHeader of every TS.48 package holds the same digits in plain
BCD order ("89 00 01 23 ..."). Both pad with F to 10 bytes.
"""

from __future__ import annotations

from openrsp.profile.errors import ProfileError

ICCID_BYTES = 10
IMSI_FILE_BYTES = 9  # EF.IMSI: one length byte, then up to 8 bytes of digits


def _digits(value: str, name: str, lengths: range) -> str:
    if not value.isascii() or not value.isdigit() or len(value) not in lengths:
        raise ProfileError(f"{name} must be {lengths.start}-{lengths.stop - 1} digits, got {value!r}")
    return value


def luhn_check_digit(digits: str) -> str:
    """The Luhn (mod 10) digit that, appended to digits, makes the whole number pass the check."""
    _digits(digits, "Luhn input", range(1, 64))
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled first.
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """True when the last digit of number is its correct Luhn check digit."""
    return len(number) > 1 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def _plain_bcd(digits: str, size: int) -> bytes:
    padded = digits + "F" * (2 * size - len(digits))
    return bytes.fromhex(padded)


def _plain_digits(data: bytes) -> str:
    text = data.hex().upper().rstrip("F")
    if not text.isdigit():
        raise ProfileError(f"not BCD digits: {data.hex().upper()}")
    return text


def _swap_nibbles(data: bytes) -> bytes:
    return bytes(((b & 0x0F) << 4) | (b >> 4) for b in data)


def encode_iccid(iccid: str) -> bytes:
    """ICCID digits → the 10-byte swapped-nibble BCD of EF.ICCID and SGP.22 (F padded)."""
    return _swap_nibbles(_plain_bcd(_digits(iccid, "ICCID", range(18, 21)), ICCID_BYTES))


def decode_iccid(data: bytes) -> str:
    """The 10-byte swapped-nibble BCD of EF.ICCID / SGP.22 → ICCID digits (F padding dropped)."""
    if len(data) != ICCID_BYTES:
        raise ProfileError(f"ICCID must be {ICCID_BYTES} bytes, got {len(data)}")
    return _plain_digits(_swap_nibbles(data))


def encode_header_iccid(iccid: str) -> bytes:
    """ICCID digits → the plain-order BCD that the SAIP ProfileHeader carries (F padded)."""
    return _plain_bcd(_digits(iccid, "ICCID", range(18, 21)), ICCID_BYTES)


def decode_header_iccid(data: bytes) -> str:
    """The ProfileHeader's plain-order ICCID BCD → digits."""
    if len(data) != ICCID_BYTES:
        raise ProfileError(f"ICCID must be {ICCID_BYTES} bytes, got {len(data)}")
    return _plain_digits(data)


def encode_imsi(imsi: str) -> bytes:
    """IMSI digits → the 9 bytes of EF.IMSI (3GPP TS 31.102 §4.2.2).

    Byte 1 counts the bytes that follow; the first digit shares its byte with the low nibble
    '1001' (odd number of digits) or '0001' (even); the rest are swapped BCD, padded with F.
    """
    _digits(imsi, "IMSI", range(6, 16))
    parity = 0x9 if len(imsi) % 2 else 0x1
    nibbles = [parity] + [int(d) for d in imsi]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    body = bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))
    return (bytes([len(body)]) + body).ljust(IMSI_FILE_BYTES, b"\xff")


def decode_imsi(data: bytes) -> str:
    """EF.IMSI content → IMSI digits."""
    if not data or data[0] == 0xFF or data[0] == 0 or data[0] > len(data) - 1:
        raise ProfileError(f"EF.IMSI holds no IMSI: {data.hex().upper()}")
    body = data[1 : 1 + data[0]]
    nibbles: list[int] = []
    for byte in body:
        nibbles += [byte & 0x0F, byte >> 4]
    digits = nibbles[1:]  # the first nibble is the type/parity nibble
    if digits and digits[-1] == 0xF:
        digits.pop()
    if any(d > 9 for d in digits):
        raise ProfileError(f"EF.IMSI holds non-digits: {data.hex().upper()}")
    return "".join(str(d) for d in digits)


def encode_plmn(mcc: str, mnc: str) -> bytes:
    """MCC and MNC → the 3-byte PLMN identity of 3GPP TS 24.008 (used in LOCI, PSLOCI, PLMN lists)."""
    _digits(mcc, "MCC", range(3, 4))
    _digits(mnc, "MNC", range(2, 4))
    mnc3 = int(mnc[2]) if len(mnc) == 3 else 0xF
    return bytes(
        [
            (int(mcc[1]) << 4) | int(mcc[0]),
            (mnc3 << 4) | int(mcc[2]),
            (int(mnc[1]) << 4) | int(mnc[0]),
        ]
    )


def split_imsi(imsi: str, mnc_length: int) -> tuple[str, str]:
    """(MCC, MNC) at the start of an IMSI, given how many digits the MNC has."""
    if mnc_length not in (2, 3):
        raise ProfileError(f"MNC length must be 2 or 3, got {mnc_length}")
    return imsi[:3], imsi[3 : 3 + mnc_length]
