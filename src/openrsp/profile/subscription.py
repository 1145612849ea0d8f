"""The subscription model: what an operator knows about one profile before it becomes a package."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from openrsp.profile.alpha import encode_spn
from openrsp.profile.errors import ProfileError
from openrsp.profile.identifiers import luhn_check_digit

ProfileClass = Literal["test", "provisioning", "operational"]
# TUAK packages can be read (ProfilePackage.aka) but not generated: their algorithmOptions
# coding is not modelled.
Algorithm = Literal["milenage", "usim-test-algorithm"]
PROFILE_CLASSES: tuple[str, ...] = ("test", "provisioning", "operational")
ALGORITHMS: tuple[str, ...] = ("milenage", "usim-test-algorithm")

# The 3GPP USIM application: RID A000000087, PIX 1002, then operator-chosen bytes.
DEFAULT_USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")


def _require_digits(value: str, name: str, low: int, high: int) -> None:
    if (
        not isinstance(value, str)
        or not value.isascii()
        or not value.isdigit()
        or not low <= len(value) <= high
    ):
        raise ProfileError(f"{name} must be {low}-{high} digits, got {value!r}")


def _require_bytes(value: bytes, name: str, sizes: tuple[int, ...]) -> None:
    if not isinstance(value, bytes) or len(value) not in sizes:
        raise ProfileError(f"{name} must be {' or '.join(map(str, sizes))} bytes")


@dataclass(frozen=True)
class Subscription:
    """One subscriber's data; validated on creation (ProfileError on bad values)."""

    iccid: str  # 19 or 20 digits, check digit included
    imsi: str  # 6-15 digits: MCC, MNC, MSIN
    ki: bytes  # 16 bytes
    opc: bytes  # 16 bytes (ignored by the USIM test algorithm)
    msisdn: str | None = None  # digits, '+' prefix for an international number
    spn: str | None = None  # shown by the phone: 16 GSM-alphabet characters, or 7 in UCS2
    profile_name: str | None = None
    profile_class: ProfileClass = "operational"
    algorithm: Algorithm = "milenage"
    mnc_length: int = 2  # digits of the MNC inside the IMSI (EF.AD)
    pin1: str = "0000"
    puk1: str = "12345678"
    pin2: str = "0000"
    puk2: str = "12345678"
    adm1: str = "12345678"
    pin1_enabled: bool = False  # whether the phone asks for PIN1 at power-on
    usim_aid: bytes = field(default=DEFAULT_USIM_AID)

    def __post_init__(self) -> None:
        _require_digits(self.iccid, "ICCID", 19, 20)
        _require_digits(self.imsi, "IMSI", 6, 15)
        _require_bytes(self.ki, "Ki", (16,))
        _require_bytes(self.opc, "OPc", (16,))
        if self.msisdn is not None:
            _require_digits(self.msisdn.removeprefix("+"), "MSISDN", 1, 20)
        if self.spn is not None:
            if not self.spn:
                raise ProfileError("SPN must not be empty (leave it out instead)")
            encode_spn(self.spn)  # raises when it does not fit EF.SPN's 16 bytes
        if self.profile_class not in PROFILE_CLASSES:
            raise ProfileError(f"profile class must be one of {', '.join(PROFILE_CLASSES)}")
        if self.algorithm not in ALGORITHMS:
            raise ProfileError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        if self.mnc_length not in (2, 3) or len(self.imsi) < 3 + self.mnc_length + 1:
            raise ProfileError(f"MNC length must be 2 or 3 and leave an MSIN in {self.imsi}")
        for name in ("pin1", "pin2"):
            _require_digits(getattr(self, name), name.upper(), 4, 8)
        for name in ("puk1", "puk2", "adm1"):
            _require_digits(getattr(self, name), name.upper(), 8, 8)
        _require_bytes(self.usim_aid, "USIM AID", tuple(range(12, 17)))
        if not self.usim_aid.startswith(bytes.fromhex("A0000000871002")):
            raise ProfileError("USIM AID must start with A0000000871002 (3GPP USIM)")

    @property
    def mcc(self) -> str:
        return self.imsi[:3]

    @property
    def mnc(self) -> str:
        return self.imsi[3 : 3 + self.mnc_length]


def complete_iccid(iccid: str, append_check_digit: bool = False) -> str:
    """An ICCID from a CSV cell: 18 digits always get their Luhn digit; 19 only when asked."""
    _require_digits(iccid, "ICCID", 18, 20)
    if len(iccid) == 18 or append_check_digit:
        if len(iccid) == 20:
            raise ProfileError(f"ICCID {iccid} already has 20 digits; no room for a check digit")
        return iccid + luhn_check_digit(iccid)
    return iccid


def _hex_field(row: Mapping[str, str], name: str, line: int) -> bytes | None:
    text = (row.get(name) or "").strip()
    if not text:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ProfileError(f"row {line}: {name} is not hex: {text!r}") from None


def generate_subscriptions(
    rows: Iterable[Mapping[str, str]],
    rng: random.Random | None = None,
    *,
    append_check_digit: bool = False,
    derive_opc: Callable[[bytes, bytes], bytes] | None = None,
) -> list[Subscription]:
    """Subscriptions from CSV-like rows, filling what the rows leave out.

    Columns (case-insensitive; empty cells count as absent): iccid, imsi, ki, opc, op, msisdn,
    spn, profile_name, profile_class, algorithm, mnc_length, pin1, puk1, pin2, puk2, adm1.
    Missing Ki: random. Missing OPc: derive_opc(ki, op) when the row has an OP (the Milenage
    OPc derivation lives with the crypto code and is passed in), random otherwise.
    ICCIDs of 18 digits get their Luhn check digit; 19-digit ones only with append_check_digit.
    rng supplies the random bytes (default: the operating system's generator).
    """
    source = rng if rng is not None else secrets.SystemRandom()
    out = []
    for line, raw in enumerate(rows, start=1):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not row.get("iccid") or not row.get("imsi"):
            raise ProfileError(f"row {line}: iccid and imsi are required")
        ki = _hex_field(row, "ki", line) or source.randbytes(16)
        opc = _hex_field(row, "opc", line)
        op = _hex_field(row, "op", line)
        if opc is None and op is not None:
            if derive_opc is None:
                raise ProfileError(f"row {line}: has an OP but no OPc derivation was supplied")
            opc = derive_opc(ki, op)
        if opc is None:
            opc = source.randbytes(len(ki))
        optional = {
            name: row[name]
            for name in ("msisdn", "spn", "profile_name", "profile_class", "algorithm")
            if row.get(name)
        }
        codes = {name: row[name] for name in ("pin1", "puk1", "pin2", "puk2", "adm1") if row.get(name)}
        try:
            mnc_length = int(row.get("mnc_length") or 2)
        except ValueError:
            raise ProfileError(f"row {line}: mnc_length must be 2 or 3") from None
        try:
            out.append(
                Subscription(
                    iccid=complete_iccid(row["iccid"], append_check_digit),
                    imsi=row["imsi"],
                    ki=ki,
                    opc=opc,
                    mnc_length=mnc_length,
                    **optional,  # type: ignore[arg-type]
                    **codes,
                )
            )
        except ProfileError as exc:
            raise ProfileError(f"row {line}: {exc}") from None
    return out
