"""A profile package as the inventory keeps it: protected once, at import, for every download.

The bound profile package protects the profile segments with profile protection keys (PPK,
SGP.22 §2.5.4: ReplaceSessionKeys) rather than with the session keys. Nothing of that part
depends on the session, so it is computed at import: a PPK of the profile's own and the tag-86
segments under it. A download then protects only ConfigureISDP, StoreMetadata and the PPK itself
under the session keys.

The record takes the place of the bare DER in `profile_packages.package`, sealed under the KEK as before,
so the schema does not change. It holds the protected segments, not the DER besides them (the DER
is what they decrypt to): the row stays the size it was, which matters on SQLite, where every
state change rewrites the whole row. A record sealed before (the bare DER) still opens; such a
profile is protected at download time, as it always was.

    record = MAGIC || initialMCV (16) || S-ENC (16) || S-MAC (16) || the tag-86 TLVs
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openrsp.asn1.tlv import TlvError, iter_tlvs
from openrsp.crypto.errors import CryptoError
from openrsp.crypto.kdf import KEY_LENGTH, SessionKeys
from openrsp.es8.bsp import BspReceiver, BspSender
from openrsp.smdp.errors import SmdpError

if TYPE_CHECKING:
    from openrsp.rspserver.sealing import Sealer

MAGIC = b"openrsp-ppk-1\x00"  # a SAIP package starts with A0 (its ProfileHeader): never this
_KEYS = 3 * KEY_LENGTH


class PreparedPackageError(SmdpError):
    """A stored package record that does not open (damaged before it was sealed)."""


@dataclass(frozen=True)
class PreparedPackage:
    """The profile as tag-86 segments under its PPK; or, for an older record, the bare DER."""

    ppk: SessionKeys | None = None  # None for a package stored before protection was prepared
    protected: bytes = b""  # the profile as tag-86 segments under ppk, one after the other
    plain: bytes | None = None  # the DER, when the record holds it (older records)

    @functools.cached_property
    def der(self) -> bytes:
        """The SAIP profile package (decrypted from the segments when the record holds no DER)."""
        if self.plain is not None:
            return self.plain
        assert self.ppk is not None
        receiver = BspReceiver(self.ppk)
        try:
            return b"".join(receiver.unprotect(tlv.raw) for tlv in iter_tlvs(self.protected))
        except (TlvError, CryptoError) as exc:
            raise PreparedPackageError(f"stored package record: {exc}") from None


def prepare(der: bytes, rng: Callable[[int], bytes] = os.urandom) -> PreparedPackage:
    """The package with a fresh PPK and its segments protected under it."""
    keys = rng(_KEYS)
    ppk = SessionKeys(s_enc=keys[16:32], s_mac=keys[32:48], initial_mcv=keys[:16])
    return PreparedPackage(ppk, b"".join(BspSender(ppk).protect_profile(der)))


def to_bytes(package: PreparedPackage) -> bytes:
    if package.ppk is None:
        return package.der
    ppk = package.ppk
    return MAGIC + ppk.initial_mcv + ppk.s_enc + ppk.s_mac + package.protected


def from_bytes(record: bytes) -> PreparedPackage:
    if not record.startswith(MAGIC):
        return PreparedPackage(plain=record)
    keys = record[len(MAGIC) : len(MAGIC) + _KEYS]
    if len(keys) != _KEYS:
        raise PreparedPackageError("stored package record is truncated")
    ppk = SessionKeys(initial_mcv=keys[:16], s_enc=keys[16:32], s_mac=keys[32:48])
    return PreparedPackage(ppk, record[len(MAGIC) + _KEYS :])


def open_sealed(sealer: Sealer, iccid: str, sealed: bytes) -> PreparedPackage:
    """A profile's package as stored (sealed under the KEK for this ICCID), opened."""
    return from_bytes(sealer.open(sealed, f"package/{iccid}"))
