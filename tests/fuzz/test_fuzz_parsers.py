"""Fuzz targets: the byte parsers with no protocol around them.

- BPP segment parsing (split_bpp, segments_for_lpa, parse_initialise_secure_channel) on a real bound
  profile package, mutated: a BppFormatError or a result, nothing else.
- SAIP import (the SM-DP+ inventory's record_from_package, the eUICC's profile_from_package) on real
  TS.48 packages, mutated: InventoryError / ProfileContentError or a result.
- The DER boundary itself (Codec.decode) for the RSP types that come from outside, on real values,
  mutated: Asn1Error or a value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import (
    Tally,
    corpus,
    fuzz_settings,
    mutated,
    no_internal_errors,
    run_with_deadline,
)
from hypothesis import given
from rsp_harness import Download, store_metadata
from worlds import CardWorld

from openrsp.asn1 import Asn1Error, rsp
from openrsp.es8.segments import (
    BppFormatError,
    parse_initialise_secure_channel,
    segments_for_lpa,
    split_bpp,
)
from openrsp.euicc.profile_content import ProfileContentError, profile_from_package
from openrsp.smdp.errors import InventoryError
from openrsp.smdp.inventory import record_from_package

TS48_FILES = ["TS48V1-A-UNIQUE.der", "TS48V2-SAIP2-1-BERTLV-UNIQUE.der", "TS48V3-SAIP2-1-BERTLV-UNIQUE.der"]


def _fuzz(target: str, seeds: list[bytes], parse: Callable[[bytes], Any], expected: tuple[type, ...]) -> None:
    tally = Tally(target)
    for data in corpus(target.replace(":", "-")):
        _one(target, data, parse, expected)

    @fuzz_settings()
    @given(data=mutated(seeds))
    def one(data: bytes) -> None:
        _one(target, data, parse, expected)
        tally.count()

    one()
    tally.write()


def _one(target: str, data: bytes, parse: Callable[[bytes], Any], expected: tuple[type, ...]) -> None:
    what = f"{target} {data[:200].hex().upper()}"

    def run() -> None:
        with no_internal_errors(what), contextlib.suppress(*expected):
            parse(data)

    run_with_deadline(run, what)


@pytest.fixture(scope="module")
def real_bpp(card_world: CardWorld) -> bytes:
    """A bound profile package made for a real session of the card."""
    rig = card_world.rig
    rig.lpa.call = rig.client.call
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    rig.lpa.prepare(download)
    return rig.smdp.bound_profile_package(
        download.transaction_id,
        download.euicc_otpk,
        rig.euicc.state.eid,
        card_world.package,
        store_metadata(card_world.iccid),
    )


def _parse_bpp(data: bytes) -> None:
    parts = split_bpp(data)
    parse_initialise_secure_channel(parts.initialise_secure_channel)
    segments_for_lpa(data)


def test_fuzz_bpp_segments(real_bpp: bytes):
    _fuzz("bpp", [real_bpp], _parse_bpp, (BppFormatError,))


def test_fuzz_initialise_secure_channel(real_bpp: bytes):
    seed = split_bpp(real_bpp).initialise_secure_channel
    _fuzz("bpp:isc", [seed], parse_initialise_secure_channel, (BppFormatError,))


def _ts48(ts48_dir: Path) -> list[bytes]:
    return [(ts48_dir / name).read_bytes() for name in TS48_FILES]


def test_fuzz_saip_import_at_the_smdp(ts48_dir: Path):
    _fuzz(
        "saip:smdp",
        _ts48(ts48_dir),
        lambda data: record_from_package(data, source="fuzz"),
        (InventoryError,),
    )


def test_fuzz_saip_install_on_the_euicc(ts48_dir: Path):
    _fuzz("saip:euicc", _ts48(ts48_dir), profile_from_package, (ProfileContentError,))


# The RSP types that arrive from a peer: ES9+ request fields, ES10 answers the LPA reads, certificates.
OUTSIDE_TYPES = [
    "EUICCInfo1",
    "EUICCInfo2",
    "AuthenticateServerResponse",
    "PrepareDownloadResponse",
    "PendingNotification",
    "CancelSessionResponse",
    "StoreMetadataRequest",
    "ProfileInfoListResponse",
    "RetrieveNotificationsListResponse",
    "Certificate",
]


def test_fuzz_der_boundary(card_world: CardWorld, smdp_world):
    """Every seed decoded as every outside type: the decoders meet many shapes they do not expect."""
    import base64

    seeds = [request for requests in card_world.seeds.values() for request in requests]
    for bodies in smdp_world.es9.values():
        for body in bodies:
            for value in body.values():
                with contextlib.suppress(ValueError, TypeError):
                    raw = base64.b64decode(value, validate=True)
                    if raw:
                        seeds.append(raw)
    tally = Tally("der")

    @fuzz_settings()
    @given(data=mutated(seeds))
    def one(data: bytes) -> None:
        for type_name in OUTSIDE_TYPES:
            _one(f"der:{type_name}", data, lambda d, t=type_name: rsp().decode(t, d), (Asn1Error,))
        tally.count()

    one()
    tally.write()
