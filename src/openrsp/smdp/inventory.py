"""Filling the inventory: import SAIP packages, or generate them from subscriber data.

Both are all-or-nothing: every package is read (or built) first, then all go into the database in
one transaction; one bad file or one ICCID already known and nothing is added.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from openrsp.crypto.milenage import compute_opc
from openrsp.errors import OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.profile import ProfilePackage, Subscription, generate_package, generate_subscriptions
from openrsp.profile.identifiers import encode_plmn, split_imsi
from openrsp.profile.subscription import PROFILE_CLASSES
from openrsp.smdp.db import profiles
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.errors import InventoryError
from openrsp.smdp.rows import DEFAULT_PROFILE_TYPE, NewProfile


@dataclass(frozen=True)
class ProfileExtras:
    """What `--ppr` and `--icon` add to every profile of one import or generation (and so to its
    profile type): policy rules and an icon for StoreMetadata (smdp/profile_policy.py)."""

    pprs: tuple[str, ...] = ()
    icon: tuple[str, bytes] | None = None  # (iconType, bytes)

    def apply(self, record: NewProfile) -> NewProfile:
        if self.pprs:
            record.extra = {**record.extra, "ppr": list(self.pprs)}
        if self.icon is not None:
            record.icon_type, record.icon = self.icon
        return record


NO_EXTRAS = ProfileExtras()


def record_from_package(
    der: bytes,
    *,
    source: str,
    profile_type: str | None = None,
    profile_class: str = "operational",
    profile_name: str | None = None,
) -> NewProfile:
    """What the inventory keeps about one package (its subscriber data read from the package)."""
    if profile_class not in PROFILE_CLASSES:
        raise InventoryError(
            f"profile class must be one of {', '.join(PROFILE_CLASSES)}, not {profile_class!r}"
        )
    try:
        package = ProfilePackage.from_der(der)
        aka = package.aka
        owner = _owner_of_package(package)
        return NewProfile(
            iccid=package.iccid,
            package=der,
            profile_type=profile_type or package.profile_type or DEFAULT_PROFILE_TYPE,
            imsi=package.imsi,
            msisdn=package.msisdn,
            ki=aka.ki if aka else None,
            opc=aka.opc if aka else None,
            aka_algorithm=aka.algorithm if aka else None,
            spn=package.spn,
            profile_name=profile_name or package.spn or source,
            profile_class=profile_class,
            extra={"owner": owner} if owner else {},
        )
    except OpenRSPError as exc:
        raise InventoryError(f"{source}: {exc}") from None


def _owner_of_package(package: ProfilePackage) -> str | None:
    """The profile owner's PLMN (StoreMetadata profileOwner.mccMnc, hex) from the USIM's IMSI, the
    MNC length taken from EF.AD (2 when it does not say)."""
    imsi = package.imsi
    if not imsi:
        return None
    ad = package.files.get("ADF.USIM/EF.AD")
    mnc_length = ad[3] & 0x0F if ad and len(ad) >= 4 and ad[3] & 0x0F in (2, 3) else 2
    return to_hex(encode_plmn(*split_imsi(imsi, mnc_length)))


def import_packages(
    database: SmdpDatabase,
    files: Sequence[Path],
    *,
    operator: str,
    profile_type: str | None = None,
    profile_class: str = "operational",
    extras: ProfileExtras = NO_EXTRAS,
) -> list[str]:
    """Import the package files; their ICCIDs, in order."""
    records = []
    for path in files:
        try:
            der = path.read_bytes()
        except OSError as exc:
            raise InventoryError(f"{path}: {exc.strerror or exc}") from None
        record = record_from_package(
            der, source=path.stem, profile_type=profile_type, profile_class=profile_class
        )
        records.append(extras.apply(record))
    return profiles.add_profiles(database, records, operator)


def record_from_subscription(sub: Subscription, *, profile_type: str) -> NewProfile:
    return NewProfile(
        iccid=sub.iccid,
        package=generate_package(sub),
        profile_type=profile_type,
        imsi=sub.imsi,
        msisdn=sub.msisdn,
        ki=sub.ki,
        opc=sub.opc,
        aka_algorithm=sub.algorithm,
        spn=sub.spn,
        profile_name=sub.profile_name or sub.spn,
        profile_class=sub.profile_class,
        extra={"owner": to_hex(encode_plmn(sub.mcc, sub.mnc))},
    )


def subscriptions_from_rows(
    rows: Iterable[Mapping[str, str]], *, rng: random.Random | None = None, append_check_digit: bool = False
) -> list[Subscription]:
    """Subscriptions from CSV-like rows; Ki/OPc drawn at random where the row has none (an OP
    column gives OPc by the Milenage derivation)."""
    try:
        return generate_subscriptions(
            rows, rng, append_check_digit=append_check_digit, derive_opc=compute_opc
        )
    except OpenRSPError as exc:
        raise InventoryError(str(exc)) from None


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InventoryError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"{path}: not a UTF-8 text (CSV) file") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "iccid" not in [f.strip().lower() for f in reader.fieldnames]:
        raise InventoryError(f"{path}: the first line must name the columns (iccid,imsi,ki,opc,…)")
    aliases = {"name": "profile_name", "class": "profile_class"}
    return [
        {aliases.get(k.strip().lower(), k.strip().lower()): v for k, v in row.items() if k} for row in reader
    ]


def generate_profiles(
    database: SmdpDatabase,
    subscriptions: Sequence[Subscription],
    *,
    operator: str,
    profile_type: str = DEFAULT_PROFILE_TYPE,
    extras: ProfileExtras = NO_EXTRAS,
) -> list[Subscription]:
    """Build a package per subscription and add them all; the subscriptions (with their keys)."""
    try:
        records = [
            extras.apply(record_from_subscription(sub, profile_type=profile_type)) for sub in subscriptions
        ]
    except OpenRSPError as exc:
        raise InventoryError(str(exc)) from None
    profiles.add_profiles(database, records, operator)
    return list(subscriptions)
