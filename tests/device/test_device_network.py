"""The status bar tells what the network says about the profile in use: PP restricted, OP attached,
no service. The device attaches again, as a phone does, whenever the enabled profile changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from device_world import EventRecorder, Page, World, bootstrap_card, https_for, network_for

from openrsp.device.network_status import SimulatedNetwork
from openrsp.device.phone import Phone
from openrsp.device.server import running

pytestmark = pytest.mark.xdist_group("device-api")


def test_the_status_bar_follows_the_profile_in_use(world: World, tmp_path: Path) -> None:
    card = tmp_path / "card"
    bootstrap = bootstrap_card(world, card)
    order = world.order()
    offer = order.offer
    settings = https_for(world)

    with network_for(world, tmp_path / "hss.sqlite", bootstrap, [offer]) as network:
        phone = Phone.in_process(card, lambda: settings, network=SimulatedNetwork(network))
        with running(phone) as url:
            page = Page(url)
            events = EventRecorder(url)
            try:
                first = page.screen()["network"]
                assert (first["state"], first["label"]) == ("pp-restricted", "PP restricted")
                assert first["detail"] == "Bootstrap: SM-DP+ only (APN rsp.provisioning)"

                job = page.ok("/api/downloads", {"activationCode": order.activation_code, "consented": True})
                events.wait_for("download", lambda d: d["id"] == job["id"] and d["phase"] == "done")
                # On the provisioning profile the download went through the network's policy point.
                allowed = [e.fields["target"] for e in network.events.of("maps", "connect-allowed")]
                assert allowed and set(allowed) == {world.address}

                switched = page.ok(f"/api/profiles/{offer.iccid}/enable")["network"]
                assert (switched["state"], switched["label"]) == ("op-attached", "OP attached")
                assert switched["detail"] == f"{offer.spn}: data (internet), voice"

                off = page.ok(f"/api/profiles/{offer.iccid}/disable")["network"]
                assert off == {"state": "no-service", "label": "No service", "detail": "no profile is in use"}
            finally:
                events.close()
                page.http.close()
    attaches = [e.fields for e in network.events.of("mme", "attach-accept")]
    assert [a["profile"] for a in attaches] == ["provisioning", "operational"]
