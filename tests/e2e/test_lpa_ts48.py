"""Every TS.48 test profile in ../shared/profiles/ts48/ downloads end to end through `openrsp lpa`
(the command line run in-process, against SM-DP+ servers in their own processes).

The 18 "-UNIQUE" packages have ICCIDs of their own: one SM-DP+ and one eUICC take them all. The
other 18 share two ICCIDs, and an SM-DP+ holds an ICCID only once: one SM-DP+ takes them one at a
time, each installed profile removed from its inventory (`openrsp smdp profile remove`) before the
next package with its ICCID is imported, into one eUICC that deletes each profile before the next.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

from lpa_support import (
    OPENRSP,
    Smdp,
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa_in_process,
    pending_notifications,
    pki_fixture,  # noqa: F401 - fixture
)

from openrsp.profile.package import ProfilePackage


def ok_in_process(*args: str, card: list[str]):
    run = lpa_in_process(*args, card=card)
    assert run.returncode == 0, f"openrsp lpa {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run


def card(directory: Path) -> list[str]:
    return ["--euicc", str(directory)]


def iccid_of(package: Path) -> str:
    return ProfilePackage.from_der(package.read_bytes()).iccid


def test_every_unique_ts48_profile(ts48_dir: Path, pki: Path, euicc: Path, tmp_path: Path):
    files = sorted(ts48_dir.glob("*-UNIQUE.der"))
    assert len(files) >= 18
    smdp = Smdp(pki, tmp_path / "smdp-data")
    imported = subprocess.run(
        [str(OPENRSP), "smdp", "profile", "import", "--data", str(smdp.data), *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    iccids = imported.stdout.split()
    assert len(set(iccids)) == len(files)
    smdp.start()
    try:
        for package, iccid in zip(files, iccids, strict=True):
            data = ok_in_process(
                "--json", "profile", "download", "-a", smdp.order(iccid), "--yes", card=card(euicc)
            ).data
            assert data["iccid"] == iccid, package.name
            assert data["notifications"][0]["delivered"], package.name
        states = {iccid: smdp.state(iccid) for iccid in iccids}
    finally:
        smdp.stop()
    assert set(states.values()) == {"Installed"}, states
    listed = ok_in_process("--json", "profile", "list", card=card(euicc)).data
    assert sorted(p["iccid"] for p in listed) == sorted(iccids)
    assert sorted(installed_iccids(euicc)) == sorted(iccids)
    assert pending_notifications(euicc) == []


def test_every_ts48_profile_sharing_an_iccid(ts48_dir: Path, pki: Path, euicc: Path, tmp_path: Path):
    files = sorted(set(ts48_dir.glob("*.der")) - set(ts48_dir.glob("*-UNIQUE.der")))
    assert len(files) >= 18
    by_iccid: dict[str, list[Path]] = defaultdict(list)
    for package in files:
        by_iccid[iccid_of(package)].append(package)
    assert max(len(group) for group in by_iccid.values()) > 1  # why profiles must leave the inventory

    smdp = Smdp(pki, tmp_path / "smdp-data").start()
    try:
        for package in files:
            # An SM-DP+ holds an ICCID once: each installed profile leaves its inventory before the next
            # package with that ICCID is imported, and the eUICC deletes it before the next one comes.
            [iccid] = smdp.import_files([package])
            data = ok_in_process(
                "--json", "profile", "download", "-a", smdp.order(iccid), "--yes", card=card(euicc)
            ).data
            assert data["iccid"] == iccid, package.name
            assert smdp.state(iccid) == "Installed", package.name
            deleted = ok_in_process("--json", "profile", "delete", iccid, card=card(euicc)).data
            assert [n["delivered"] for n in deleted["notifications"]] == [True], package.name
            assert installed_iccids(euicc) == [], package.name
            smdp.remove(iccid)
    finally:
        smdp.stop()
    assert pending_notifications(euicc) == []
