"""Text and numbers as SIM files store them: alpha identifiers, EF.SPN and dialling-number records.

Alpha identifiers (3GPP TS 31.102 Annex A) are either the SMS default alphabet of 3GPP TS 23.038,
one character per byte with bit 8 zero, or UCS2 in one of three forms marked by a first byte of
0x80, 0x81 or 0x82. Unused bytes are 0xFF.
"""

from __future__ import annotations

from openrsp.profile.errors import ProfileError

# 3GPP TS 23.038 default alphabet, indexed by code point. 0x1B is the escape to the extension
# table, which we neither write nor read (it is shown as a space).
GSM_DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(GSM_DEFAULT_ALPHABET) == 128
_GSM_CODE = {char: code for code, char in enumerate(GSM_DEFAULT_ALPHABET) if code != 0x1B}

SPN_FILE_BYTES = 17
MSISDN_NUMBER_BYTES = 14  # the fixed tail of a dialling-number record after the alpha identifier
TON_NPI_INTERNATIONAL = 0x91  # international number, ISDN/telephony numbering plan
TON_NPI_UNKNOWN = 0x81


def encode_alpha(text: str, size: int) -> bytes:
    """Text → an alpha identifier of exactly size bytes (GSM alphabet if possible, else UCS2)."""
    if all(char in _GSM_CODE for char in text):
        data = bytes(_GSM_CODE[char] for char in text)
    elif all(ord(char) <= 0xFFFF and not 0xD800 <= ord(char) <= 0xDFFF for char in text):
        data = b"\x80" + text.encode("utf-16-be")
    else:
        raise ProfileError(f"{text!r} has characters outside UCS2")
    if len(data) > size:
        raise ProfileError(f"{text!r} needs {len(data)} bytes, only {size} available")
    return data.ljust(size, b"\xff")


def decode_alpha(data: bytes) -> str:
    """An alpha identifier → text (trailing 0xFF padding dropped)."""
    if not data:
        return ""
    if data[0] == 0x80:
        body = data[1:]
        # UCS2 characters, ended by the first unused 'FFFF'
        chars = [body[i : i + 2] for i in range(0, len(body) - 1, 2)]
        text = []
        for pair in chars:
            if pair == b"\xff\xff":
                break
            text.append(pair.decode("utf-16-be", errors="replace"))
        return "".join(text)
    if data[0] in (0x81, 0x82) and len(data) >= 3:
        # Characters share one 'base' code page: bytes below 0x80 are GSM alphabet,
        # the others give an offset from the base.
        if data[0] == 0x81:
            count, base, body = data[1], data[2] << 7, data[3:]
        else:
            count, base, body = data[1], (data[2] << 8) | data[3], data[4:]
        out = []
        for byte in body[:count]:
            out.append(GSM_DEFAULT_ALPHABET[byte] if byte < 0x80 else chr(base + (byte & 0x7F)))
        return "".join(out)
    text = []
    for byte in data:
        if byte == 0xFF:
            break
        text.append(" " if byte == 0x1B else GSM_DEFAULT_ALPHABET[byte & 0x7F])
    return "".join(text)


def encode_spn(name: str, display_condition: int = 0x01) -> bytes:
    """Service provider name → the 17 bytes of EF.SPN (display condition byte, 16-byte name)."""
    return bytes([display_condition]) + encode_alpha(name, SPN_FILE_BYTES - 1)


def decode_spn(data: bytes) -> str | None:
    """EF.SPN content → the name, or None when the file holds none."""
    if len(data) < 2:
        return None
    name = decode_alpha(data[1:])
    return name or None


def _swapped_bcd_number(digits: str) -> bytes:
    nibbles = [int(d) for d in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def encode_dialling_number(number: str, record_length: int, alpha: str = "") -> bytes:
    """A phone number ('+' for international) → one EF.MSISDN/ADN record (TS 31.102 §4.4.2.3)."""
    international = number.startswith("+")
    digits = number[1:] if international else number
    if not digits.isdigit() or not 1 <= len(digits) <= 20:
        raise ProfileError(f"phone number must be 1-20 digits with an optional '+', got {number!r}")
    alpha_size = record_length - MSISDN_NUMBER_BYTES
    if alpha_size < 0:
        raise ProfileError(f"record length {record_length} is shorter than a dialling number")
    bcd = _swapped_bcd_number(digits).ljust(10, b"\xff")
    ton_npi = TON_NPI_INTERNATIONAL if international else TON_NPI_UNKNOWN
    # Length counts the TON/NPI byte and the used BCD bytes; 0xFF 0xFF: no CCP2, no extension.
    tail = bytes([1 + (len(digits) + 1) // 2, ton_npi]) + bcd + b"\xff\xff"
    return encode_alpha(alpha, alpha_size) + tail


def decode_dialling_number(record: bytes) -> str | None:
    """One EF.MSISDN/ADN record → the number ('+' prefix when international), or None if empty."""
    if len(record) < MSISDN_NUMBER_BYTES:
        return None
    tail = record[-MSISDN_NUMBER_BYTES:]
    length, ton_npi = tail[0], tail[1]
    if length in (0, 0xFF) or length > 11:
        return None
    digits = []
    for byte in tail[2 : 1 + length]:
        for nibble in (byte & 0x0F, byte >> 4):
            if nibble == 0xF:
                break
            if nibble > 9:
                return None
            digits.append(str(nibble))
    prefix = "+" if (ton_npi & 0x70) == 0x10 else ""
    return prefix + "".join(digits) if digits else None
