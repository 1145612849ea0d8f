"""Packages cut as pySim's SM-DP+ (osmo-smdpp) cuts them, through `openrsp smdp serve` and `openrsp lpa`.

osmo-smdpp protects 1008 plaintext bytes per profile segment, so its full segments are 1036 bytes.
The SM-DP+'s stored package (the tag-86 segments under the profile's PPK, prepared_package.py) is
replaced here by such segments, so the real server sends them as osmo-smdpp would. A lenient eUICC
installs the profile; a strict one refuses it, and the LPA says why in words and in JSON `details`.
"""

from __future__ import annotations

from lpa_support import (
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa,
    lpa_ok,
    pki_fixture,  # noqa: F401 - fixture
    smdp_fixture,  # noqa: F401 - fixture
)
from sqlalchemy import update

from openrsp.es8.bsp import TAG_PROFILE, BspSender
from openrsp.euicc.store import set_strict
from openrsp.smdp import prepared_package
from openrsp.smdp.db.models import ProfilePackage
from openrsp.smdp.db.profiles import sealed_package

OSMO_CHUNK = 1008


def _serve_osmo_style(smdp, iccid: str) -> None:
    """Re-protect the stored profile in 1008-byte chunks under its own PPK (1036-byte segments)."""
    database = smdp._database()
    try:
        with database.transaction() as connection:
            prepared = database.open_prepared(iccid, sealed_package(connection, iccid))
            der, ppk = prepared.der, prepared.ppk
            sender = BspSender(ppk, max_segment_size=1036)
            chunks = [der[i : i + OSMO_CHUNK] for i in range(0, len(der), OSMO_CHUNK)]
            protected = b"".join(sender.protect(TAG_PROFILE, chunk) for chunk in chunks)
            assert len(protected) // 1036 >= 1
            record = prepared_package.PreparedPackage(ppk, protected)
            sealed = database.sealer.seal(prepared_package.to_bytes(record), f"package/{iccid}")
            packages = ProfilePackage.__table__
            connection.execute(update(packages).where(packages.c.iccid == iccid).values(package=sealed))
    finally:
        database.engine.dispose()


def card(directory) -> list[str]:
    return ["--euicc", str(directory)]


def test_1036_byte_segments_install_through_the_lpa(smdp, euicc):
    iccid = smdp.generate()
    _serve_osmo_style(smdp, iccid)
    code = smdp.order(iccid)
    downloaded = lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=card(euicc)).data
    assert downloaded["iccid"] == iccid
    assert installed_iccids(euicc) == [iccid]


def test_strict_euicc_refuses_and_the_lpa_says_why(smdp, euicc):
    set_strict(euicc, True)
    iccid = smdp.generate()
    _serve_osmo_style(smdp, iccid)
    code = smdp.order(iccid)

    run = lpa("--json", "profile", "download", "-a", code, "--yes", card=card(euicc))
    assert run.returncode == 1
    payload = run.payload
    assert payload["message"] == "es10b_load_bound_profile_package"
    details = payload["details"]
    assert details["bppCommandId"] == "loadProfileElements"
    assert (details["errorReason"], details["errorReasonCode"]) == ("scp03tStructureError", 7)
    assert "malformed" in details["meaning"]
    assert "1036 bytes" in details["euiccReason"] and "SGP.22 2.5.5" in details["euiccReason"]
    assert details["euiccReason"] in payload["data"]
    assert installed_iccids(euicc) == []
    assert smdp.state(iccid) == "Error"  # the signed error result reached the SM-DP+


def test_text_output_shows_the_euicc_reason(smdp, euicc):
    set_strict(euicc, True)
    iccid = smdp.generate()
    _serve_osmo_style(smdp, iccid)
    code = smdp.order(iccid)
    run = lpa("profile", "download", "-a", code, "--yes", card=card(euicc))
    assert run.returncode == 1
    assert "scp03tStructureError" in run.stderr
    assert "the eUICC says: segment 86 of 1036 bytes > 1020, SGP.22 2.5.5 (strict mode)" in run.stderr
