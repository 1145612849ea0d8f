"""Optional features and the pip extras that bring them: imported where they are used, never before.

`pip install openrsp` gives the SM-DP+, the LPA with an in-process card, and the eUICC. The extras
add PC/SC (`[pcsc]`), PostgreSQL (`[postgres]`), QR images (`[qr]`) and benchmark plots (`[bench]`).
A feature whose extra is missing stops with one line naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from openrsp.errors import OpenRSPError


class MissingExtraError(OpenRSPError):
    """A feature needs an optional package that is not installed."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """`module`, imported; or MissingExtraError saying which extra gives `feature`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        raise MissingExtraError(
            f"{feature} needs the optional package {missing!r}: pip install 'openrsp[{extra}]'"
        ) from None
