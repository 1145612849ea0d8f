"""The Figure 7 sequence, end to end, with every part real: PKI, HTTPS SM-DP+, eUICC, LPA, network.

    operator   generates the operational profile (SM-DP+ inventory + HSS), orders it over ES2+,
               gets the activation code (and its QR code)
    device     ships with a provisioning profile (PP); powers on; the network recognises the PP,
               forces the SM-DP+ APN and ties the bearer to the MAPS; anything but the SM-DP+ is refused
    user       scans the QR code; the LPA downloads the bound profile package in one ES9+ call through
               the MAPS, then loads it into the eUICC segment by segment
    device     enables the operational profile, re-attaches with AKA, gets its contract's services
    LPA        delivers the notifications; the SM-DP+ shows the order Installed
    SM-DS      the operator confirms a second profile with the SM-DS address; the device checks for
               eSIMs at its root SM-DS, downloads the event without a QR code (demo/smds_steps.py)

Each step checks what it exists to show (trace.check); the first failure ends the run.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from openrsp.demo.smds_steps import SmdsSteps
from openrsp.demo.trace import StepFailed, StepRecord, Trace, check
from openrsp.demo.world import OP_CONTRACT, OP_IMSI, SMDP_APN, DemoOptions, DemoWorld
from openrsp.extras import require
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.lpd import Download, DownloadRequest, LoadProgress, Step
from openrsp.lpa.core.notifications import NotificationSender
from openrsp.lpa.drivers.es9_client import Es9Client
from openrsp.lpa.ui.qr import activation_code_from_qr
from openrsp.network.errors import ServiceRefused
from openrsp.network.events import NetworkEvent
from openrsp.network.gateway import Session
from openrsp.pki.layout import OPERATOR_GROUP
from openrsp.rspserver.ids import activation_code
from openrsp.smdp.es2.client import Es2Client

DEVICE_APN = "internet"  # what the device asks for, whatever profile it runs
OTHER_HOST = "www.example.com:443"  # somewhere a provisioning bearer must not go
PEER_NUMBER = "+15550100"


@dataclass
class DemoResult:
    trace: Trace
    work_dir: Path
    kept: bool
    total_ms: float
    facts: dict[str, Any]  # what the summary shows
    events: list[NetworkEvent]

    @property
    def ok(self) -> bool:
        return self.trace.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "steps": [s.to_json() for s in self.trace.steps],
            "totalMs": round(self.total_ms, 1),
            "workDir": str(self.work_dir) if self.kept else None,
            **self.facts,
            "networkEvents": [e.to_json() for e in self.events],
        }


class Figure7(SmdsSteps, DemoWorld):
    """One run of the demo. `run()` never raises for a failed step: the trace says what failed."""

    # --- running ---------------------------------------------------------------------------------
    def run(self, *, while_up: Callable[[DemoResult, Figure7], None] | None = None) -> DemoResult:
        """Run every step; `while_up(result, self)`, when given, runs after the last step and before
        the SM-DP+ and the network stop (the demo's device screen is served from there)."""
        started = time.perf_counter()
        self.work = self._work_dir()
        try:
            self._run_steps()
            total = (time.perf_counter() - started) * 1000
            kept = self.options.keep is not None
            result = DemoResult(self.trace, self.work, kept, total, self.facts, self.events.events)
            if while_up is not None:
                while_up(result, self)
        finally:
            self._shutdown()
            if self.options.keep is None:
                shutil.rmtree(self.work, ignore_errors=True)
        return result

    def _run_steps(self) -> None:
        """Every step in order; the first that fails ends the run (its record says why)."""
        try:
            for step in (
                self.pki,
                self.operator_inventory,
                self.smdp_start,
                self.network_start,
                self.device,
                self.order,
                self.pp_attach,
                self.maps_refusal,
                self.download,
                self.enable,
                self.op_attach,
                self.notifications,
                self.smds_order,
                self.smds_discovery,
            ):
                step()
        except StepFailed:
            pass

    # --- 6. the order ----------------------------------------------------------------------------
    def order(self) -> None:
        with self.trace.step(
            "order", "Operator orders and confirms the profile (ES2+), gets the code"
        ) as step:
            assert self.work is not None and self.smdp is not None
            operator = self._es2()
            try:
                ordered = operator.call("downloadOrder", {"iccid": self.op.iccid, "eid": self.eid})
                check(ordered.get("iccid") == self.op.iccid, "downloadOrder reserved another profile")
                confirmed = operator.call("confirmOrder", {"iccid": self.op.iccid, "releaseFlag": True})
                status = operator.call("profileStatus", {"iccid": self.op.iccid})
            finally:
                operator.close()
            code = activation_code(confirmed["smdpAddress"], confirmed["matchingId"])
            self.qr_path = self.work / "activation-code.png"
            require("segno", "qr", "the demo's QR code").make(code, error="M", micro=False).save(
                str(self.qr_path), scale=8, border=4
            )
            check(status.get("state") == "Released", f"order state is {status.get('state')}, not Released")
            self._say(step, f"downloadOrder {self.op.iccid} bound to EID {self.eid}")
            self._say(step, f"confirmOrder: matchingId {confirmed['matchingId']}, released")
            self._say(step, f"activation code {code}")
            self._say(
                step, f"QR code written to {self.qr_path}" if self.options.keep else "QR code made (PNG)"
            )
            step.detail = code
            self.facts["activationCode"] = code
            self.facts["qrPng"] = str(self.qr_path) if self.options.keep else None

    def _es2(self) -> Es2Client:
        assert self.smdp is not None
        return Es2Client(
            self.smdp.url,
            client_cert=self.index.cert_path(OPERATOR_GROUP, "client"),
            client_key=self.index.key_path(OPERATOR_GROUP, "client"),
            ca=self.index.cert_path(self.index.tls_curve, "ci"),
            tls_name=self.smdp_host,
        )

    # --- 7. power-on with the PP -----------------------------------------------------------------
    def pp_attach(self) -> None:
        with self.trace.step("pp-attach", "Device powers on with the PP: restricted bearer") as step:
            assert self.network is not None
            mark = len(self.events)
            session = self.network.attach(self.modem, apn=DEVICE_APN)
            bearer = session.default_bearer
            check(session.provisioning, "the network did not recognise the provisioning profile")
            check(bearer.apn == SMDP_APN and bearer.requested_apn == DEVICE_APN, "the APN was not replaced")
            check(
                bearer.restricted and bearer.proxy == self.network.maps.url,
                "the bearer is not tied to the MAPS",
            )
            refused = self._refused_services(session)
            check(refused == ["voice", "sms"], f"services not refused: {refused}")
            self.pp_session = session
            self._show_events(step, mark)
            step.detail = (
                f"IMSI {session.imsi}: asked for APN {DEVICE_APN}, got {bearer.apn} via MAPS; "
                "voice and SMS refused: not under contract"
            )
            step.data = {"session": session.to_json()}

    def _refused_services(self, session: Session) -> list[str]:
        refused = []
        for name, use in (
            ("voice", lambda: session.voice_call(PEER_NUMBER)),
            ("sms", lambda: session.send_sms(PEER_NUMBER, "hello")),
        ):
            try:
                use()
            except ServiceRefused as exc:
                if "not under contract" in exc.reason:
                    refused.append(name)
        return refused

    def _show_events(
        self, step: StepRecord, since: int, sources: tuple[str, ...] = ("mme", "gateway", "maps")
    ) -> None:
        for event in self._new_events(since):
            if event.source in sources:
                self._say(step, str(event))

    # --- 8. the MAPS refuses anything else ---------------------------------------------------------
    def maps_refusal(self) -> None:
        with self.trace.step("maps-refusal", "PP bearer tries another host: the MAPS refuses") as step:
            mark = len(self.events)
            proxy = self.pp_session.default_bearer.proxy
            status = None
            try:
                with httpx.Client(proxy=proxy, timeout=10) as http:
                    http.get(f"https://{OTHER_HOST}/")
            except httpx.ProxyError as exc:
                status = str(exc)
            check(status is not None and "403" in status, f"the MAPS did not refuse {OTHER_HOST}: {status}")
            refusals = [e for e in self._new_events(mark) if e.kind == "connect-refused"]
            check(refusals and refusals[0].fields["target"] == OTHER_HOST, "the MAPS logged no refusal")
            self._show_events(step, mark, ("maps",))
            step.detail = f"CONNECT {OTHER_HOST} -> 403: {refusals[0].fields['reason']}"

    # --- 9. the download -------------------------------------------------------------------------
    def download(self) -> None:
        with self.trace.step("download", "User scans the QR code; LPA downloads through the MAPS") as step:
            assert self.smdp is not None
            mark = len(self.events)
            code = activation_code_from_qr(self.qr_path)
            check(str(code) == self.facts["activationCode"], "the QR code does not read back as the code")
            self._say(step, f"QR read: SM-DP+ {code.smdp_address}, matchingId {code.matching_id}")
            settings = self.lpa_https(proxy=self.pp_session.default_bearer.proxy)
            timings: dict[Step, float] = {}
            counts = {}

            def on_step(current: Step) -> None:
                timings[current] = time.perf_counter()
                if current is Step.LOAD_BOUND_PROFILE_PACKAGE:
                    counts["before"] = self.card_transport.snapshot()
                if current is Step.SEND_NOTIFICATION:
                    counts["after"] = self.card_transport.snapshot()

            def on_progress(progress: LoadProgress) -> None:
                self._say(
                    step,
                    f"segment {progress.segment}/{progress.segments} loaded "
                    f"({progress.bytes_done}/{progress.bytes_total} bytes)",
                )

            es10_client = self._es10()
            try:
                with Es9Client(code.smdp_address, settings) as es9:
                    result = Download(
                        Es10(es10_client),
                        es9,
                        DownloadRequest(code.smdp_address, code.matching_id),
                        progress=on_progress,
                        on_step=on_step,
                        notifications=None,  # delivered after the switch, over the operational bearer
                    ).run()
            finally:
                es10_client.close()
            check(result.install.ok, "the eUICC did not install the profile")
            check(result.metadata.iccid == self.op.iccid, "the eUICC installed another profile")
            through = [e for e in self._new_events(mark) if e.kind == "connect-allowed"]
            check(through, "the LPA's ES9+ traffic did not go through the MAPS")
            self._show_events(step, mark, ("maps",))
            self._card_link(step, timings, counts)

    def _card_link(self, step: StepRecord, timings: dict[Step, float], counts: dict[str, Any]) -> None:
        batch_s = timings[Step.LOAD_BOUND_PROFILE_PACKAGE] - timings[Step.GET_BOUND_PROFILE_PACKAGE]
        load_s = timings[Step.SEND_NOTIFICATION] - timings[Step.LOAD_BOUND_PROFILE_PACKAGE]
        link = counts["after"].minus(counts["before"])
        model = self.options.link
        real_s = model.seconds(link.apdus, link.total_bytes)
        self._say(
            step,
            f"batch: the whole bound profile package in one getBoundProfilePackage, {batch_s * 1000:.0f} ms",
        )
        self._say(
            step,
            f"segmented load here: {link.apdus} APDUs, {link.total_bytes} bytes, {load_s * 1000:.0f} ms",
        )
        self._say(step, f"on a real card ({model.describe()}): about {real_s:.1f} s")
        step.detail = (
            f"BPP fetched in {batch_s * 1000:.0f} ms (one ES9+ call via MAPS); "
            f"loaded in {link.apdus} APDUs; a real card link would take ~{real_s:.1f} s"
        )
        self.facts["cardLink"] = {
            "model": model.to_json(),
            "apdus": link.apdus,
            "bytes": link.total_bytes,
            "batchDownloadMs": round(batch_s * 1000, 1),
            "loadHereMs": round(load_s * 1000, 1),
            "loadRealCardEstimateMs": round(real_s * 1000, 1),
        }

    # --- 10. enable ------------------------------------------------------------------------------
    def enable(self) -> None:
        with self.trace.step("enable", "The operational profile is enabled") as step:
            with self._es10() as client:
                es10 = Es10(client)
                es10.enable_profile(self.op.iccid)
                profiles = {p.iccid: p for p in es10.get_profiles_info()}
            check(profiles[self.op.iccid].state == "enabled", "the operational profile is not enabled")
            check(profiles[self.pp.iccid].state == "disabled", "the provisioning profile is still enabled")
            step.detail = f"{self.op.iccid} enabled, provisioning profile {self.pp.iccid} disabled"

    # --- 11. re-attach with the OP ---------------------------------------------------------------
    def op_attach(self) -> None:
        with self.trace.step("op-attach", "Device re-attaches with the operational profile (AKA)") as step:
            assert self.network is not None
            mark = len(self.events)
            session = self.network.attach(self.modem, apn=DEVICE_APN)
            bearer = session.default_bearer
            check(
                not session.provisioning and session.imsi == OP_IMSI,
                "the device is not on its operational profile",
            )
            check(
                self.events.of("mme", "auth-challenge") and self.events.of("mme", "attach-accept"),
                "no AKA ran for the operational profile",
            )
            check(
                bearer.apn == DEVICE_APN and not bearer.restricted and bearer.proxy is None,
                "the bearer is restricted",
            )
            check(
                session.services() == OP_CONTRACT.services(),
                f"services {session.services()} are not the contract's",
            )
            session.voice_call(PEER_NUMBER)
            session.send_sms(PEER_NUMBER, "hello from openrsp")
            self.op_session = session
            self._show_events(step, mark)
            step.detail = f"IMSI {session.imsi}: APN {bearer.apn} ({bearer.ue_address}); services {', '.join(session.services())}"
            step.data = {"session": session.to_json()}

    # --- 12. notifications and the order state ---------------------------------------------------
    def notifications(self) -> None:
        with self.trace.step(
            "notifications", "Notifications reach the SM-DP+; the order is Installed"
        ) as step:
            settings = self.lpa_https(proxy=None)  # the operational bearer reaches the SM-DP+ directly
            with self._es10() as client:
                sender = NotificationSender(Es10(client), lambda address: Es9Client(address, settings))
                outcomes = sender.process()
            check(outcomes, "the eUICC had no notification to deliver")
            for outcome in outcomes:
                meta = outcome.metadata
                state = "delivered" if outcome.delivered else f"kept ({outcome.error})"
                self._say(
                    step,
                    f"notification {meta.seq_number} {meta.operation} {meta.iccid} -> {meta.address}: {state}",
                )
            check(all(o.delivered for o in outcomes), "some notifications were not delivered")
            check(
                any(o.metadata.operation == "install" for o in outcomes), "no install notification was sent"
            )
            operator = self._es2()
            try:
                status = operator.call("profileStatus", {"iccid": self.op.iccid})
            finally:
                operator.close()
            check(status.get("state") == "Installed", f"the SM-DP+ shows the order {status.get('state')}")
            step.detail = f"{len(outcomes)} delivered; SM-DP+ order state {status['state']}"
            self.facts["orderState"] = status["state"]


def run_demo(
    options: DemoOptions,
    trace: Trace,
    *,
    while_up: Callable[[DemoResult, Figure7], None] | None = None,
) -> DemoResult:
    """Run the demo; raises only for bad options (InputError), otherwise the result tells."""
    return Figure7(options, trace).run(while_up=while_up)
