"""How the MME tells a provisioning profile (PP) from an operational one.

Two signals, as an operator deploying SGP.22 PPs would use them: the IMSI falls in a range the
operator set aside for provisioning profiles, or the device reports that the enabled profile's class
is "provisioning" (from ES10c GetProfilesInfo). Either one makes the attach a PP attach.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from openrsp.errors import InputError


@dataclass(frozen=True)
class ImsiRange:
    """Inclusive range of IMSIs of one length, e.g. 001019900000000-001019999999999."""

    first: str
    last: str

    def __post_init__(self) -> None:
        for value in (self.first, self.last):
            if not (value.isascii() and value.isdigit() and 6 <= len(value) <= 15):
                raise InputError(f"IMSI range bound must be 6-15 digits, got {value!r}")
        if len(self.first) != len(self.last) or self.first > self.last:
            raise InputError(f"IMSI range {self.first}-{self.last}: bounds of one length, first <= last")

    @classmethod
    def parse(cls, text: str) -> ImsiRange:
        """`FIRST-LAST`, or a prefix ending in `*` for a 15-digit block (e.g. `0010199*`)."""
        text = text.strip()
        if text.endswith("*"):
            prefix = text[:-1]
            if not prefix.isdigit() or len(prefix) > 15:
                raise InputError(f"IMSI prefix {text!r}: digits then '*'")
            return cls(prefix.ljust(15, "0"), prefix.ljust(15, "9"))
        first, sep, last = text.partition("-")
        if not sep:
            raise InputError(f"IMSI range {text!r}: expected FIRST-LAST or PREFIX*")
        return cls(first, last)

    def __contains__(self, imsi: object) -> bool:
        return isinstance(imsi, str) and len(imsi) == len(self.first) and self.first <= imsi <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True)
class ProvisioningDetection:
    imsi_ranges: tuple[ImsiRange, ...] = ()
    trust_reported_class: bool = True

    @classmethod
    def of(
        cls, ranges: Iterable[str | ImsiRange], *, trust_reported_class: bool = True
    ) -> ProvisioningDetection:
        parsed = tuple(r if isinstance(r, ImsiRange) else ImsiRange.parse(r) for r in ranges)
        return cls(parsed, trust_reported_class)

    def classify(self, imsi: str, reported_class: str | None = None) -> str | None:
        """Why this attach is a PP attach ("IMSI in range …", "device reports …"), or None if not."""
        for imsi_range in self.imsi_ranges:
            if imsi in imsi_range:
                return f"IMSI in provisioning range {imsi_range}"
        if self.trust_reported_class and reported_class == "provisioning":
            return "device reports profile class provisioning"
        return None
