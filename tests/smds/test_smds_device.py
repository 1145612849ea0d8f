"""The device screen's "Check for eSIMs": the page asks the eUICC's root SM-DS, the first event starts a
download that asks for consent like any other, and the profile is installed without a QR code."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from lpa_support import Smdp, installed_iccids
from smds_support import Smds

from openrsp.device.phone import Phone
from openrsp.device.server import running
from openrsp.euicc.store import create_euicc
from openrsp.lpa.drivers.https import HttpsSettings, load_ca_certificates
from openrsp.pki.layout import PkiIndex

JSON = {"Content-Type": "application/json"}


def _phone(pki: Path, card: Path) -> Phone:
    settings = HttpsSettings(
        tuple(load_ca_certificates([pki / "nist" / "ci.cert.pem"])),
        resolve={"smdp.openrsp.test": "127.0.0.1"},
    )
    return Phone.in_process(card, lambda: settings)


def _wait_phase(http: httpx.Client, job: int, phases: tuple[str, ...]) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = http.get(f"/api/downloads/{job}").json()
        if current["phase"] in phases:
            return current
        time.sleep(0.1)
    raise AssertionError(f"download {job} never reached {phases}")


def test_check_for_esims_finds_the_event_and_downloads_it(
    smds: Smds, smdp: Smdp, smds_pki: Path, tmp_path: Path
) -> None:
    card = tmp_path / "euicc"
    create_euicc(card, pki=smds_pki, root_smds=smds.address)
    eid = PkiIndex.read(smds_pki).eid
    with running(_phone(smds_pki, card)) as url, httpx.Client(base_url=url, timeout=60) as http:
        nothing = http.post("/api/discovery", json={}, headers=JSON)
        assert nothing.status_code == 200
        assert nothing.json()["download"] is None

        iccid = smdp.generate(spn="Discovery Mobile", name="Found by the SM-DS")
        smdp.es2_call("downloadOrder", iccid=iccid, eid=eid)
        smdp.es2_call("confirmOrder", iccid=iccid, eid=eid, smdsAddress=smds.address, releaseFlag=True)

        found = http.post("/api/discovery", json={}, headers=JSON)
        assert found.status_code == 202, found.text
        body = found.json()
        assert body["smdsAddress"] == smds.address
        assert [e["rspServerAddress"] for e in body["events"]] == [smdp.address]
        job = body["download"]["id"]
        asking = _wait_phase(http, job, ("consent", "failed"))
        assert asking["phase"] == "consent", asking
        assert asking["metadata"]["spn"] == "Discovery Mobile"
        http.post(f"/api/downloads/{job}/consent", json={"accept": True}, headers=JSON)
        done = _wait_phase(http, job, ("done", "failed"))
        assert done["phase"] == "done", done
    assert iccid in installed_iccids(card)
    assert smdp.state(iccid) == "Installed"


def test_check_for_esims_needs_no_json_from_other_sites(smds: Smds, smds_pki: Path, tmp_path: Path) -> None:
    card = tmp_path / "euicc"
    create_euicc(card, pki=smds_pki, root_smds=smds.address)
    with running(_phone(smds_pki, card)) as url, httpx.Client(base_url=url, timeout=60) as http:
        refused = http.post("/api/discovery", content=b"x", headers={"Content-Type": "text/plain"})
        assert refused.status_code == 400
