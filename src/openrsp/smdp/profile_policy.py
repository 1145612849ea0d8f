"""What a profile carries besides its package: policy rules (PPR1/PPR2) and an icon.

Set at import and generation (`--ppr ppr1,ppr2`, `--icon FILE`), kept on the profile row (PPRs in
`profiles.extra["ppr"]`, the icon in `profiles.icon`/`icon_type`), sent in StoreMetadata
(es9_metadata) and checked at authenticateClient against the eUICC's forbiddenProfilePolicyRules
(SGP.22 §2.9.1, §5.6.3: a profile whose PPRs the eUICC forbids is no eligible profile for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openrsp.asn1.rsp_types import PprId, bit_string, bits_set
from openrsp.smdp.errors import InventoryError

# The PPRs an SM-DP+ may set on a profile (SGP.22 §2.9.1), by the names the CLI and JSON use.
PPRS: dict[str, PprId] = {"ppr1": PprId.PPR1, "ppr2": PprId.PPR2}
PPR_MEANING = {"ppr1": "cannot be disabled once enabled", "ppr2": "cannot be deleted"}

# SGP.22 StoreMetadataRequest: icon OCTET STRING (SIZE(0..1024)), iconType jpg(0) or png(1).
MAX_ICON_BYTES = 1024
_ICON_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff"}


def parse_pprs(text: str | None) -> list[str]:
    """`ppr1,ppr2` (any case, spaces allowed) → ["ppr1", "ppr2"]; empty or None → []."""
    if not text:
        return []
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in PPRS]
    if unknown:
        raise InventoryError(f"unknown profile policy rule {unknown[0]!r}: give ppr1, ppr2 or both")
    return sorted(set(names), key=list(PPRS).index)


def profile_pprs(extra: Mapping[str, Any] | None) -> list[str]:
    """The PPRs a profile row carries."""
    return [name for name in (extra or {}).get("ppr", []) if name in PPRS]


def ppr_bits(names: list[str]) -> tuple[bytes, int]:
    """The PprIds BIT STRING value for these PPR names."""
    return bit_string(*(PPRS[name] for name in names))


def forbidden_pprs(euicc_info2: Mapping[str, Any]) -> list[str]:
    """The PPRs the eUICC says it forbids (EUICCInfo2.forbiddenProfilePolicyRules)."""
    value = euicc_info2.get("forbiddenProfilePolicyRules")
    if value is None:
        return []
    bits = bits_set(value)
    return [name for name, bit in PPRS.items() if bit in bits]


def read_icon(path: Path) -> tuple[str, bytes]:
    """(iconType, bytes) of an icon file within SGP.22's limits: PNG or JPEG, at most 1024 bytes."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ICON_BYTES + 1)  # bounded: never read a large file whole
    except OSError as exc:
        raise InventoryError(f"{path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ICON_BYTES:
        raise InventoryError(f"{path}: an icon may be at most {MAX_ICON_BYTES} bytes (SGP.22 StoreMetadata)")
    for icon_type, magic in _ICON_MAGIC.items():
        if data.startswith(magic):
            return icon_type, data
    raise InventoryError(f"{path}: an icon must be a PNG or JPEG file (SGP.22 iconType)")
