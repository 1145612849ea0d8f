"""A profile package as the inventory keeps it: the SAIP DER, and its protection prepared once.

The bound profile package protects the profile segments with profile protection keys (PPK,
SGP.22 §2.5.4: ReplaceSessionKeys) rather than with the session keys. Nothing of that part
depends on the session, so it is computed at import: a PPK of the profile's own and the tag-86
segments under it. A download then protects only ConfigureISDP, StoreMetadata and the PPK itself
under the session keys. The whole record is sealed under the KEK like the package alone was
(`profiles.package`), so the schema does not change; a blob sealed before (the bare DER) still
opens, and such a profile is protected at download time as before.

    record = MAGIC || initialMCV (16) || S-ENC (16) || S-MAC (16) || len(DER) (4) || DER || 86 TLVs
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from openrsp.crypto.bsp import BspSender
from openrsp.crypto.kdf import KEY_LENGTH, SessionKeys
from openrsp.smdp.errors import SmdpError

MAGIC = b"openrsp-ppk-1\x00"  # a SAIP package starts with A0 (its ProfileHeader): never this
_KEYS = 3 * KEY_LENGTH


class PreparedPackageError(SmdpError):
    """A stored package record that does not parse (damaged after it was sealed)."""


@dataclass(frozen=True)
class PreparedPackage:
    der: bytes  # the SAIP profile package
    ppk: SessionKeys | None = None  # None for a package stored before protection was prepared
    protected: bytes = b""  # the profile as tag-86 segments under ppk, one after the other


def prepare(der: bytes, rng: Callable[[int], bytes] = os.urandom) -> PreparedPackage:
    """The package with a fresh PPK and its segments protected under it."""
    keys = rng(_KEYS)
    ppk = SessionKeys(s_enc=keys[16:32], s_mac=keys[32:48], initial_mcv=keys[:16])
    return PreparedPackage(der, ppk, b"".join(BspSender(ppk).protect_profile(der)))


def to_bytes(package: PreparedPackage) -> bytes:
    if package.ppk is None:
        return package.der
    ppk = package.ppk
    head = MAGIC + ppk.initial_mcv + ppk.s_enc + ppk.s_mac + len(package.der).to_bytes(4, "big")
    return head + package.der + package.protected


def from_bytes(record: bytes) -> PreparedPackage:
    if not record.startswith(MAGIC):
        return PreparedPackage(record)
    offset = len(MAGIC)
    keys = record[offset : offset + _KEYS]
    size_at = offset + _KEYS
    size = int.from_bytes(record[size_at : size_at + 4], "big")
    der_at = size_at + 4
    if len(keys) != _KEYS or der_at + size > len(record):
        raise PreparedPackageError("stored package record is truncated")
    ppk = SessionKeys(initial_mcv=keys[:16], s_enc=keys[16:32], s_mac=keys[32:48])
    return PreparedPackage(record[der_at : der_at + size], ppk, record[der_at + size :])
