"""The status bar tells what the network says about the profile in use: PP restricted, OP attached,
no service. The device attaches again, as a phone does, whenever the enabled profile changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from device_world import SMDP_HOST, EventRecorder, Page, World, run

from openrsp.device.network_status import SimulatedNetwork
from openrsp.device.phone import Phone
from openrsp.device.server import running
from openrsp.hexutil import from_hex
from openrsp.lpa.https import HttpsSettings, load_ca_certificates
from openrsp.network.contract import Contract
from openrsp.network.hss import Hss
from openrsp.network.network import MobileNetwork
from openrsp.profile import Subscription, generate_package

pytestmark = pytest.mark.xdist_group("device-api")


def test_the_status_bar_follows_the_profile_in_use(world: World, tmp_path: Path) -> None:
    bootstrap = Subscription(
        iccid="8900100000000000017",
        imsi="001019900000001",
        ki=os.urandom(16),
        opc=os.urandom(16),
        spn="Bootstrap",
        profile_class="provisioning",
    )
    package = tmp_path / "pp.der"
    package.write_bytes(generate_package(bootstrap))
    card = tmp_path / "card"
    run("euicc", "create", str(card), "--pki", str(world.pki), "--with-pp", str(package))
    order = world.order()
    hss = Hss(tmp_path / "hss.sqlite")
    hss.provision(bootstrap.imsi, bootstrap.ki, bootstrap.opc, Contract.none())
    offer = order.offer
    hss.provision(offer.imsi, from_hex(offer.ki), from_hex(offer.opc), Contract(("internet",), voice=True))
    settings = HttpsSettings(
        tuple(load_ca_certificates([world.pki / "nist" / "ci.cert.pem"])), resolve={SMDP_HOST: "127.0.0.1"}
    )

    with MobileNetwork(hss, smdp=(SMDP_HOST, world.port), resolve={SMDP_HOST: "127.0.0.1"}) as network:
        phone = Phone.in_process(card, lambda: settings, network=SimulatedNetwork(network))
        with running(phone) as url:
            page = Page(url)
            events = EventRecorder(url)
            try:
                first = page.screen()["network"]
                assert (first["state"], first["label"]) == ("pp-restricted", "PP restricted")
                assert first["detail"] == "Bootstrap: provisioning only (data:rsp.provisioning (SM-DP+ only))"

                job = page.ok("/api/downloads", {"activationCode": order.activation_code, "consented": True})
                events.wait_for("download", lambda d: d["id"] == job["id"] and d["phase"] == "done")

                switched = page.ok(f"/api/profiles/{offer.iccid}/enable")["network"]
                assert (switched["state"], switched["label"]) == ("op-attached", "OP attached")
                assert switched["detail"] == f"{offer.spn}: data:internet, voice"

                off = page.ok(f"/api/profiles/{offer.iccid}/disable")["network"]
                assert off == {"state": "no-service", "label": "No service", "detail": "no profile is in use"}
            finally:
                events.close()
                page.http.close()
    attaches = [e.fields for e in network.events.of("mme", "attach-accept")]
    assert [a["profile"] for a in attaches] == ["provisioning", "operational"]
