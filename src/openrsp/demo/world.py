"""The demo's world, set up from nothing: test PKI, the operator's profiles, the SM-DP+ on HTTPS, the
network with its MAPS, and a device whose eUICC ships with a provisioning profile.

`DemoWorld` holds what the steps share (paths, the SM-DP+ process, the network, the card) and the
helpers to reach them as the operator, the LPA and the device do; figure7.Figure7 adds the sequence.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openrsp.demo.cardlink import CardLinkModel, MeteredTransport
from openrsp.demo.smdp_process import OPENRSP_COMMAND, SmdpProcess, free_port, start_smdp
from openrsp.demo.trace import StepRecord, Trace, check
from openrsp.errors import InputError
from openrsp.euicc.store import open_card, read_state
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.https import HttpsSettings, load_ca_certificates
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.network.contract import Contract
from openrsp.network.device import Modem
from openrsp.network.events import EventLog, NetworkEvent
from openrsp.network.hss import Hss
from openrsp.network.network import MobileNetwork
from openrsp.pki.layout import LPA_GROUP
from openrsp.pki.testpki import init_pki
from openrsp.profile import Subscription, complete_iccid, generate_package
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.profiles import list_profiles
from openrsp.smdp.inventory import generate_profiles

OPERATOR = "default"  # the operator the test PKI's operator client certificate maps to
PROFILE_TYPE = "demo"
OP_IMSI = "001010123456789"  # test PLMN 001-01
PP_IMSI = "001019900000001"
PP_IMSI_RANGE = "0010199*"  # what the operator set aside for provisioning profiles
OP_CONTRACT = Contract(("internet",), voice=True, sms=True)
SMDP_APN = "rsp.provisioning"
SMDS_HOST = "127.0.0.1"  # the demo's SM-DS is reached by address: no name to resolve for the SM-DP+


@dataclass(frozen=True)
class DemoOptions:
    keep: Path | None = None  # work folder to keep; None: a temporary one, removed afterwards
    link: CardLinkModel = field(default_factory=CardLinkModel)
    random_bytes: Callable[[int], bytes] = os.urandom


def _subscription(iccid18: str, imsi: str, random_bytes: Callable[[int], bytes], **more: Any) -> Subscription:
    return Subscription(
        iccid=complete_iccid(iccid18), imsi=imsi, ki=random_bytes(16), opc=random_bytes(16), **more
    )


class DemoWorld:
    """Steps 1-5 of the demo and what every step shares."""

    def __init__(self, options: DemoOptions, trace: Trace) -> None:
        self.options = options
        self.trace = trace
        self.facts: dict[str, Any] = {}
        self.events = EventLog()
        self.work: Path | None = None
        self.smdp: SmdpProcess | None = None
        self.smds: SmdpProcess | None = None  # started by the SM-DS steps (figure7)
        self.smds_port = free_port()  # known from the start: the eUICC is made with it as root SM-DS
        self.network: MobileNetwork | None = None
        self.hss: Hss | None = None

    def _work_dir(self) -> Path:
        keep = self.options.keep
        if keep is None:
            return Path(tempfile.mkdtemp(prefix="openrsp-demo-"))
        if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
            raise InputError(f"--keep {keep}: choose a new or empty folder")
        keep.mkdir(parents=True, exist_ok=True)
        return keep.resolve()

    def _shutdown(self) -> None:
        # Each part is stopped even when stopping the one before failed.
        try:
            if self.network is not None:
                self.network.stop()
        finally:
            try:
                if self.smdp is not None:
                    self.smdp.stop()
            finally:
                try:
                    if self.smds is not None:
                        self.smds.stop()
                finally:
                    if self.hss is not None:
                        self.hss.close()

    def _say(self, record: StepRecord, text: str) -> None:
        self.trace.line(record, text)

    def _new_events(self, since: int) -> list[NetworkEvent]:
        return self.events.since(since)

    # --- 1. PKI ----------------------------------------------------------------------------------
    def pki(self) -> None:
        with self.trace.step("pki", "Fresh test PKI (CI, EUM, eUICC, SM-DP+, TLS)") as step:
            assert self.work is not None
            self.pki_dir = self.work / "pki"
            index = init_pki(self.pki_dir, smds_host=SMDS_HOST)
            self.index = index
            self.eid = index.eid
            self.smdp_host = index.smdp_host
            self.cis = load_ca_certificates(index.cert_path(curve, "ci") for curve in index.curves)
            check(self.cis, "the test PKI has no CI certificate")
            self.tls_trust = ssl.create_default_context(cafile=str(index.cert_path(index.tls_curve, "ci")))
            step.detail = f"curves {', '.join(index.curves)}; EID {self.eid}; SM-DP+ name {self.smdp_host}"

    # --- 2. the operator's profiles --------------------------------------------------------------
    def operator_inventory(self) -> None:
        with self.trace.step("inventory", "Operator generates the profiles and provisions the HSS") as step:
            assert self.work is not None
            rnd = self.options.random_bytes
            self.op = _subscription(
                "890010101234567890", OP_IMSI, rnd, msisdn="+15550123456", spn="openrsp Mobile"
            )
            self.pp = _subscription(
                "890010199000000001", PP_IMSI, rnd, spn="Provisioning", profile_class="provisioning"
            )
            config = load_config(data_dir=self.work / "smdp-data", credentials_dir=self.pki_dir)
            database = open_database(config)
            try:
                generate_profiles(database, [self.op], operator=OPERATOR, profile_type=PROFILE_TYPE)
                with database.transaction() as connection:
                    stored = [p.iccid for p in list_profiles(connection)]
            finally:
                database.engine.dispose()
            check(self.op.iccid in stored, "the operational profile is not in the SM-DP+ inventory")
            self.hss = Hss(self.work / "hss.sqlite", random_bytes=rnd)
            self.hss.provision_subscription(self.op, OP_CONTRACT)
            self.hss.provision_subscription(self.pp, Contract.none())
            check(self.hss.imsis() == sorted([OP_IMSI, PP_IMSI]), "the HSS does not hold both subscribers")
            self.pp_package = self.work / "provisioning-profile.der"
            self.pp_package.write_bytes(generate_package(self.pp))
            self._say(
                step, f"SM-DP+ inventory: ICCID {self.op.iccid} (IMSI {OP_IMSI}, Ki/OPc sealed at rest)"
            )
            self._say(step, f"HSS: {OP_IMSI} contract {', '.join(OP_CONTRACT.services())}")
            self._say(step, f"HSS: {PP_IMSI} (provisioning profile) contract: none")
            step.detail = f"operational profile {self.op.iccid}; provisioning profile {self.pp.iccid}"
            self.facts["iccid"] = self.op.iccid
            self.facts["ppIccid"] = self.pp.iccid

    # --- 3. the SM-DP+ ---------------------------------------------------------------------------
    def smdp_start(self) -> None:
        with self.trace.step("smdp", "SM-DP+ serving ES2+ and ES9+ over HTTPS (SQLite)") as step:
            assert self.work is not None
            self.smdp = start_smdp(
                self.pki_dir,
                self.work / "smdp-data",
                self.smdp_host,
                self.tls_trust,
                log_dir=self.work,
                lpa_ca=self.index.cert_path(LPA_GROUP, "ca"),
            )
            step.detail = (
                f"https://{self.smdp.address} on 127.0.0.1, pid {self.smdp.process.pid}; "
                "ES9+ and ES2+ require TLS client certificates"
            )
            self.facts["smdpAddress"] = self.smdp.address

    # --- 4. the network --------------------------------------------------------------------------
    def network_start(self) -> None:
        with self.trace.step("network", "Network up: HSS, MME, gateway (ESPGW), MAPS policy point") as step:
            assert self.smdp is not None and self.hss is not None
            self.network = MobileNetwork(
                self.hss,
                smdp=(self.smdp_host, self.smdp.port),
                provisioning_ranges=[PP_IMSI_RANGE],
                smdp_apn=SMDP_APN,
                resolve={self.smdp_host: "127.0.0.1"},
                events=self.events,
            ).start()
            check(self.network.maps.address is not None, "the MAPS is not listening")
            step.detail = f"MAPS {self.network.maps.url} lets PP bearers reach only {self.smdp.address}"
            self._say(step, f"provisioning IMSI range {PP_IMSI_RANGE}; SM-DP+ APN {SMDP_APN}")

    # --- 5. the device ---------------------------------------------------------------------------
    def device(self) -> None:
        with self.trace.step("device", "Device made: eUICC shipped with the provisioning profile") as step:
            assert self.work is not None and self.smdp is not None
            self.euicc_dir = self.work / "euicc"
            command = [
                *OPENRSP_COMMAND,
                "euicc",
                "create",
                str(self.euicc_dir),
                "--pki",
                str(self.pki_dir),
                "--with-pp",
                str(self.pp_package),
                "--default-smdp",
                self.smdp.address,
                "--root-smds",
                self.smds_address,
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
            check(done.returncode == 0, f"openrsp euicc create failed: {done.stderr.strip()}")
            profiles = read_state(self.euicc_dir).profiles
            check(
                len(profiles) == 1 and profiles[0].iccid == self.pp.iccid and profiles[0].enabled,
                "the eUICC does not hold exactly the enabled provisioning profile",
            )
            self.card_transport = MeteredTransport(InProcessTransport(open_card(self.euicc_dir)))
            self.modem = Modem(self.card_transport, profile_class=self._enabled_profile_class)
            step.detail = f"EID {self.eid}; PP {self.pp.iccid} enabled (openrsp euicc create --with-pp)"
            self.facts["eid"] = self.eid

    @property
    def smds_address(self) -> str:
        return f"{SMDS_HOST}:{self.smds_port}"

    def _enabled_profile_class(self) -> str | None:
        """What the device tells the network about the enabled profile (ES10c GetProfilesInfo)."""
        with Es10Client(self.card_transport) as client:
            enabled = [p for p in Es10(client).get_profiles_info() if p.state == "enabled"]
        return enabled[0].profile_class if enabled else None

    def _es10(self) -> Es10Client:
        return Es10Client(self.card_transport)

    def lpa_https(self, *, proxy: str | None) -> HttpsSettings:
        """How the device's LPA reaches the SM-DP+: the test CIs, its LPA TLS certificate, the SM-DP+
        name on loopback; through `proxy` while the bearer is restricted."""
        index = self.index
        return HttpsSettings(
            ca_certificates=tuple(self.cis),
            client_cert=index.cert_path(LPA_GROUP, "client"),
            client_key=index.key_path(LPA_GROUP, "client"),
            resolve={self.smdp_host: "127.0.0.1"},
            proxy=proxy,
        )
