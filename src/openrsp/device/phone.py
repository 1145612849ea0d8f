"""The device behind the page: LPA sessions on the eUICC, one operation at a time.

Each operation opens a fresh LPA session (`openrsp.lpa.ui.session.LpaSession`) on the card, does its
ES10 calls, delivers the notifications it caused (as `openrsp lpa` does) and closes the session, so
the eUICC state on disk is always what both the page and the CLI read. A download runs in a worker
thread (`DownloadJob`) holding the card until it ends. After every change the page hears the new
screen over server-sent events, and the network is asked again when the enabled profile changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openrsp.device.download_job import ANSWER_TIMEOUT, DownloadJob
from openrsp.device.events import EventHub
from openrsp.device.gate import SHORT_WAIT, CardBusy, CardGate
from openrsp.device.network_status import NetworkLink, NetworkStatus, NoNetwork
from openrsp.device.pacing import paced
from openrsp.device.problems import explain
from openrsp.device.screen import Screen
from openrsp.errors import OpenRSPError
from openrsp.lpa.core.activation_code import parse_activation_code
from openrsp.lpa.core.device import DeviceInfo
from openrsp.lpa.core.discovery import discover
from openrsp.lpa.core.errors import LpaInputError
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.lpd import DownloadRequest
from openrsp.lpa.core.notifications import NotificationOutcome
from openrsp.lpa.drivers.https import HttpsSettings
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.lpa.drivers.transport import ApduTransport
from openrsp.lpa.ui import lpac_json
from openrsp.lpa.ui.qr import read_qr_text
from openrsp.lpa.ui.session import LpaSession

DOWNLOAD = "a profile download"
_NOT_LOOKED = object()  # the network has not been asked yet


class Phone:
    def __init__(
        self,
        open_transport: Callable[[], ApduTransport],
        https: Callable[[], HttpsSettings],
        *,
        network: NetworkLink | None = None,
        device: DeviceInfo | None = None,
        events: EventHub | None = None,
        notify: bool = True,
        answer_timeout: float = ANSWER_TIMEOUT,
    ) -> None:
        self._open_transport = open_transport
        self._https = https
        self.network = network or NoNetwork()
        self.device = device or DeviceInfo()
        self.events = events or EventHub()
        self.notify = notify
        self._answer_timeout = answer_timeout
        self.gate = CardGate()
        self._job_lock = threading.Lock()
        self._job_ids = itertools.count(1)
        self.job: DownloadJob | None = None
        self._screen: Screen | None = None
        self._network_status = NetworkStatus.no_service("not attached yet")
        self._attached_for: object = _NOT_LOOKED  # ICCID of the profile the network last saw (or None)

    @classmethod
    def in_process(
        cls,
        directory: Path | str,
        https: Callable[[], HttpsSettings],
        *,
        apdu_delay: float = 0.0,
        **options: Any,
    ) -> Phone:
        """A phone around the virtual eUICC stored in `directory` (re-read for every operation).

        `apdu_delay` (seconds) makes each APDU take as long as over a real reader.
        """

        def open_transport() -> ApduTransport:
            from openrsp.euicc.store import open_card  # device wiring: the in-process eUICC

            return InProcessTransport(open_card(directory))

        return cls(paced(open_transport, apdu_delay), https, **options)

    # --- reading ---------------------------------------------------------------------------------
    def view(self, *, fresh: bool = True) -> dict[str, Any]:
        """What the page shows. Read from the eUICC unless a download holds it (then the last look)."""
        if fresh and not self.gate.held_long:
            try:
                with self.gate.hold("reading the profiles"):
                    self._look()
            except CardBusy:
                pass  # a download started meanwhile: show the last look
        return self._view_json()

    def _view_json(self) -> dict[str, Any]:
        screen = self._screen or Screen(None, [], self._network_status)
        job = self.job
        return screen.to_json() | {
            "download": job.to_json() if job is not None and not job.finished else None,
        }

    def _look(self) -> Screen:
        """Read EID and profiles (caller holds the card); attach again if the enabled profile changed."""
        session = self._session()
        try:
            eid = session.es10.get_eid()
            profiles = session.es10.get_profiles_info()
        finally:
            session.close()
        enabled = next((p for p in profiles if p.state == "enabled"), None)
        enabled_iccid = enabled.iccid if enabled else None
        if enabled_iccid != self._attached_for:
            self._network_status = self.network.status(self._open_transport, enabled)
            self._attached_for = enabled_iccid
        self._screen = Screen(eid, profiles, self._network_status)
        return self._screen

    def _session(self) -> LpaSession:
        return LpaSession(self._open_transport, self._https_now, notify=self.notify)

    def _https_now(self) -> HttpsSettings:
        """The HTTPS settings, through the bearer's policy point when the network restricts data."""
        settings = self._https()
        proxy = self._network_status.proxy
        if proxy and not settings.proxy:
            settings = dataclasses.replace(settings, proxy=proxy)
        return settings

    def publish_screen(self) -> None:
        self.events.publish("screen", self._view_json())

    # --- profile operations ----------------------------------------------------------------------
    def enable(self, iccid: str) -> dict[str, Any]:
        """Switch to this profile (the eUICC disables the one in use)."""
        return self._operate(f"switching to {iccid}", lambda es10: es10.enable_profile(iccid))

    def disable(self, iccid: str) -> dict[str, Any]:
        return self._operate(f"turning off {iccid}", lambda es10: es10.disable_profile(iccid))

    def delete(self, iccid: str) -> dict[str, Any]:
        return self._operate(f"deleting {iccid}", lambda es10: es10.delete_profile(iccid))

    def rename(self, iccid: str, nickname: str) -> dict[str, Any]:
        return self._operate(
            f"renaming {iccid}", lambda es10: es10.set_nickname(iccid, nickname.strip()), notify=False
        )

    def _operate(self, what: str, call: Callable[[Es10], None], *, notify: bool = True) -> dict[str, Any]:
        outcomes: list[NotificationOutcome] = []
        try:
            with self.gate.hold(what, wait=SHORT_WAIT):
                session = self._session()
                try:
                    call(session.es10)
                    # The operation is done; a notification that cannot be sent now goes with the next one.
                    with contextlib.suppress(OpenRSPError):
                        outcomes = session.after_operation() if notify else []
                finally:
                    session.close()
                self._look()
        finally:
            if self._screen is not None:
                self.publish_screen()
        return {"notifications": [lpac_json.outcome(o) for o in outcomes]} | self._view_json()

    # --- adding a profile --------------------------------------------------------------------------
    def read_qr(self, image: bytes) -> str:
        """The activation code in a QR picture (as the LPA core reads QR files)."""
        with tempfile.TemporaryDirectory(prefix="openrsp-qr-") as folder:
            path = Path(folder) / "upload"
            path.write_bytes(image)
            try:
                text = read_qr_text(path)
            except LpaInputError as exc:
                raise LpaInputError(str(exc).replace(str(path), "the picture"), step=exc.step) from None
        return str(parse_activation_code(text))

    def check_for_esims(self) -> dict[str, Any]:
        """ "Check for eSIMs": ask the eUICC's root SM-DS for events (ES11) and start downloading the
        first one, as phones do without a QR code (the page then asks for consent as usual)."""
        with self.gate.hold("checking for eSIMs", wait=SHORT_WAIT):
            session = self._session()
            try:
                root = session.es10.get_configured_addresses().root_ds_address or ""
                if not root:
                    raise LpaInputError("this eUICC has no root SM-DS address to ask", step="discovery")
                found = discover(session.es10, session.connect_smds, root, self.device)
            finally:
                session.close()
        events = [lpac_json.event(e) for e in found.events]
        if not found.events:
            return {"smdsAddress": found.smds_address, "events": events, "download": None}
        first = found.events[0]
        job = self.start_download(f"LPA:1${first.rsp_server_address}${first.event_id}")
        return {"smdsAddress": found.smds_address, "events": events, "download": job.to_json()}

    def start_download(
        self, activation_code: str, *, confirmation_code: str | None = None, consented: bool = False
    ) -> DownloadJob:
        """Start downloading the profile an activation code names; the page follows the job's events."""
        code = parse_activation_code(activation_code)
        request = DownloadRequest(
            code.smdp_address, code.matching_id, confirmation_code or None, code.smdp_oid, self.device
        )
        with self._job_lock:
            if self.job is not None and not self.job.finished:
                raise CardBusy(f"the eSIM is busy with {DOWNLOAD}; try again when it is done")
            job = DownloadJob(
                next(self._job_ids),
                request,
                str(code),
                consented=consented,
                on_change=lambda changed: self.events.publish("download", changed.to_json()),
                answer_timeout=self._answer_timeout,
            )
            self.job = job
        threading.Thread(
            target=self._run_download, args=(job,), name=f"download-{job.id}", daemon=True
        ).start()
        return job

    def _run_download(self, job: DownloadJob) -> None:
        try:
            with self.gate.hold(DOWNLOAD, long=True, wait=SHORT_WAIT):
                self._look()  # what the page shows while the download holds the card
                session = self._session()
                try:
                    job.run(session)
                finally:
                    session.close()
                self._look()
        except Exception as exc:  # the card could not be had, or could not be read afterwards
            job.fail(explain(exc))
        self.publish_screen()
        job.finish()

    def current_job(self, job_id: int | None = None) -> DownloadJob:
        job = self.job
        if job is None or (job_id is not None and job.id != job_id):
            raise LpaInputError("there is no such download", step="download")
        return job
