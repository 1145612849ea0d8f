"""The device the LPA runs in, as AuthenticateServer's ctxParams1 describes it (TAC, capabilities, IMEI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrsp.asn1.codec import rsp
from openrsp.lpa.core.errors import LpaInputError

DEFAULT_TAC = "35290611"  # the TAC lpac announces when no IMEI is given
# Highest 3GPP release the device supports per radio technology (major, minor, revision).
DEFAULT_RELEASE = bytes([15, 0, 0])


@dataclass(frozen=True)
class DeviceInfo:
    tac: str = DEFAULT_TAC  # 8 digits
    imei: str | None = None  # 15 digits (or 16 for an IMEISV)

    @classmethod
    def for_imei(cls, imei: str | None) -> DeviceInfo:
        if imei is None:
            return cls()
        return cls(tac=check_imei(imei)[:8], imei=imei.strip())

    def asn1_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "tac": bytes.fromhex(self.tac),
            "deviceCapabilities": {
                "gsmSupportedRelease": DEFAULT_RELEASE,
                "utranSupportedRelease": DEFAULT_RELEASE,
                "eutranEpcSupportedRelease": DEFAULT_RELEASE,
            },
        }
        if self.imei is not None:
            value["imei"] = imei_to_bytes(self.imei)
        return value


def check_imei(imei: str) -> str:
    """15 digits with a valid Luhn check digit, or a 16-digit IMEISV."""
    digits = imei.strip()
    if not digits.isdigit() or len(digits) not in (15, 16):
        raise LpaInputError(f"IMEI {imei!r} must be 15 digits (or 16 for an IMEISV)", step="imei")
    if len(digits) == 15 and not _luhn_ok(digits):
        raise LpaInputError(f"IMEI {imei!r} has a wrong check digit", step="imei")
    return digits


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def imei_to_bytes(imei: str) -> bytes:
    """8 bytes of BCD with swapped nibbles (as 3GPP TS 24.008 codes digits), padded with F."""
    digits = check_imei(imei).ljust(16, "F")
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, 16, 2)))


def encode_ctx_params1(matching_id: str | None, device: DeviceInfo) -> bytes:
    """CtxParams1 (A0 ...) for AuthenticateServer; matchingId left out when there is none."""
    value: dict[str, Any] = {"deviceInfo": device.asn1_value()}
    if matching_id is not None:
        value["matchingId"] = matching_id
    return rsp().encode("CtxParams1", ("ctxParamsForCommonAuthentication", value))
