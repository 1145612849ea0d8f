"""The demo's SM-DS path (SGP.22 §3.6): a second profile reaches the device with no QR code at all.

operator   confirms the order with the SM-DS address and the EID (ES2+); the SM-DP+ registers
           the event at the SM-DS (ES12) before it answers
device     "checks for eSIMs": the LPA asks the eUICC's root SM-DS (ES11, mutually authenticated
           through the eUICC, CERT.DSauth), gets (SM-DP+, eventId), downloads with the eventId as
           matchingId; the install ends the order and the SM-DP+ deletes the event
"""

from __future__ import annotations

import time
from typing import Any

from openrsp.demo.smds_process import start_smds
from openrsp.demo.trace import check
from openrsp.lpa.core.device import DeviceInfo
from openrsp.lpa.core.discovery import discover
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.lpd import Download, DownloadRequest
from openrsp.lpa.core.notifications import NotificationSender
from openrsp.lpa.drivers.es9_client import Es9Client
from openrsp.lpa.drivers.es11_client import Es11Client
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.inventory import generate_profiles

SMDS_IMSI = "001010123456790"
EVENT_GONE_TIMEOUT = 30.0


class SmdsSteps:
    """Steps 13-14 of the demo; mixed into Figure7 (uses its world: trace, operator, card, HTTPS)."""

    trace: Any
    facts: dict[str, Any]

    # --- 13. order with the SM-DS ----------------------------------------------------------------
    def smds_order(self) -> None:
        world: Any = self
        with self.trace.step(
            "smds-order", "Operator confirms a second profile with the SM-DS (no QR code)"
        ) as step:
            assert world.work is not None and world.smdp is not None
            world.smds = start_smds(
                world.pki_dir, world.work / "smds-data", world.smds_port, world.tls_trust, log_dir=world.work
            )
            self.trace.line(step, f"SM-DS serving ES11/ES12 on https://{world.smds_address}")
            from openrsp.demo.world import OPERATOR, PROFILE_TYPE, _subscription

            second = _subscription(
                "890010101234567891", SMDS_IMSI, world.options.random_bytes,
                msisdn="+15550123457", spn="openrsp Travel",
            )  # fmt: skip
            database = open_database(
                load_config(data_dir=world.work / "smdp-data", credentials_dir=world.pki_dir)
            )
            try:
                generate_profiles(
                    database, [second], operator=OPERATOR, profile_type=PROFILE_TYPE + "-travel"
                )
            finally:
                database.engine.dispose()
            operator = world._es2()
            try:
                operator.call("downloadOrder", {"iccid": second.iccid, "eid": world.eid})
                confirmed = operator.call(
                    "confirmOrder",
                    {
                        "iccid": second.iccid,
                        "eid": world.eid,
                        "smdsAddress": world.smds_address,
                        "releaseFlag": True,
                    },
                )
                status = operator.call("profileStatus", {"iccid": second.iccid})
            finally:
                operator.close()
            check(status.get("state") == "Released", f"order state is {status.get('state')}, not Released")
            self.trace.line(
                step, f"confirmOrder {second.iccid} for EID {world.eid} with smdsAddress {world.smds_address}"
            )
            self.trace.line(
                step, f"the SM-DP+ registered event {confirmed['matchingId']} at the SM-DS (ES12)"
            )
            step.detail = (
                f"event {confirmed['matchingId']} at {world.smds_address}; no activation code handed out"
            )
            world.smds_iccid = second.iccid
            self.facts["smdsAddress"] = world.smds_address
            self.facts["smdsIccid"] = second.iccid
            self.facts["smdsEventId"] = confirmed["matchingId"]

    # --- 14. discovery and download ----------------------------------------------------------------
    def smds_discovery(self) -> None:
        world: Any = self
        with self.trace.step(
            "smds-discovery", "Device checks for eSIMs at its root SM-DS and downloads the event"
        ) as step:
            settings = world.lpa_https(proxy=None)
            with world._es10() as client:
                es10 = Es10(client)
                root = es10.get_configured_addresses().root_ds_address
                check(root == world.smds_address, f"the eUICC's root SM-DS is {root}")
                found = discover(es10, lambda a: Es11Client(a, settings), root, DeviceInfo())
                check(len(found.events) == 1, f"discovery found {len(found.events)} events, not 1")
                event = found.events[0]
                check(event.event_id == self.facts["smdsEventId"], "discovery found another event")
                self.trace.line(step, f"ES11 at {root}: event {event.event_id} -> {event.rsp_server_address}")
                with Es9Client(event.rsp_server_address, settings) as es9:
                    result = Download(
                        es10, es9, DownloadRequest(event.rsp_server_address, event.event_id),
                        notifications=NotificationSender(es10, lambda a: Es9Client(a, settings)),
                    ).run()  # fmt: skip
                check(
                    result.install.ok and result.metadata.iccid == world.smds_iccid,
                    "the event's profile was not installed",
                )
                self.trace.line(
                    step,
                    f"downloaded {result.metadata.iccid} ({result.metadata.service_provider_name}) with eventId as matchingId",
                )
                # The install notification ended the order: the SM-DP+'s outbox deletes the event.
                deadline = time.monotonic() + EVENT_GONE_TIMEOUT
                left = found.events
                while left and time.monotonic() < deadline:
                    time.sleep(0.5)
                    left = discover(es10, lambda a: Es11Client(a, settings), root, DeviceInfo()).events
                check(not left, "the event is still at the SM-DS after the installation")
            self.trace.line(step, "discovery again: no event (the SM-DP+ deleted it, ES12)")
            operator = world._es2()
            try:
                status = operator.call("profileStatus", {"iccid": world.smds_iccid})
            finally:
                operator.close()
            check(status.get("state") == "Installed", f"the SM-DP+ shows the order {status.get('state')}")
            step.detail = f"{world.smds_iccid} installed from event {event.event_id}; the event is gone"
            self.facts["smdsOrderState"] = status["state"]
