"""What a subscriber has paid for: data APNs, voice, SMS. Stored with the subscriber in the HSS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrsp.errors import InputError


@dataclass(frozen=True)
class Contract:
    """The services of one subscription. No APN, no voice, no SMS: a provisioning-only subscription."""

    data_apns: tuple[str, ...] = ()
    voice: bool = False
    sms: bool = False

    def __post_init__(self) -> None:
        for apn in self.data_apns:
            if not apn or not all(c.isalnum() or c in "-." for c in apn):
                raise InputError(f"APN {apn!r}: letters, digits, '-' and '.' only")

    @classmethod
    def none(cls) -> Contract:
        return cls()

    @property
    def default_apn(self) -> str | None:
        return self.data_apns[0] if self.data_apns else None

    def services(self) -> list[str]:
        """Human-readable list, e.g. ["data:internet", "voice", "sms"]."""
        return [f"data:{apn}" for apn in self.data_apns] + ["voice"] * self.voice + ["sms"] * self.sms

    def to_json(self) -> dict[str, Any]:
        return {"dataApns": list(self.data_apns), "voice": self.voice, "sms": self.sms}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contract:
        return cls(tuple(data.get("dataApns", ())), bool(data.get("voice")), bool(data.get("sms")))
