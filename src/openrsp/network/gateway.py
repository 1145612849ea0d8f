"""The gateway (ESPGW): bearers and services after attach, by profile kind and contract.

A provisioning-profile (PP) session gets one restricted bearer on the SM-DP+ APN, whatever APN the
device asked for, and its traffic must go through the MAPS policy point (`Bearer.proxy`); voice and
SMS are refused as not under contract. An operational session gets exactly its contract: the APNs
it lists (the first is the default), voice and SMS only when the contract has them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from openrsp.errors import InputError
from openrsp.network.contract import Contract
from openrsp.network.errors import AttachRejected, ServiceRefused
from openrsp.network.events import EventLog

DEFAULT_SMDP_APN = "rsp.provisioning"
DEFAULT_UE_POOL = "10.45.0.0/16"
NOT_UNDER_CONTRACT = "not under contract"


@dataclass(frozen=True)
class Bearer:
    apn: str  # the APN the network granted
    requested_apn: str | None  # what the device asked for
    ue_address: str
    restricted: bool  # True: reaches only the SM-DP+, through `proxy`
    proxy: str | None = None  # http://host:port every connection of this bearer must use

    def to_json(self) -> dict[str, object]:
        return {
            "apn": self.apn,
            "requestedApn": self.requested_apn,
            "ueAddress": self.ue_address,
            "restricted": self.restricted,
            "proxy": self.proxy,
        }


@dataclass
class Session:
    """What one attached device may use. Ask it for services; refusals raise ServiceRefused."""

    imsi: str
    provisioning: bool
    contract: Contract
    gateway: Gateway
    bearers: list[Bearer] = field(default_factory=list)

    @property
    def default_bearer(self) -> Bearer:
        return self.bearers[0]

    def services(self) -> list[str]:
        """What this session really offers ("data:<apn>", "voice", "sms")."""
        if self.provisioning:
            return [f"data:{self.gateway.smdp_apn} (SM-DP+ only)"]
        return self.contract.services()

    def open_bearer(self, apn: str) -> Bearer:
        bearer = self.gateway.bearer_for(self, apn)
        self.bearers.append(bearer)
        return bearer

    def voice_call(self, number: str) -> str:
        self.gateway.check_service(self, "voice", self.contract.voice, number=number)
        return f"call to {number} connected"

    def send_sms(self, number: str, text: str) -> str:
        self.gateway.check_service(self, "sms", self.contract.sms, number=number, length=len(text))
        return f"SMS to {number} delivered"

    def to_json(self) -> dict[str, object]:
        return {
            "imsi": self.imsi,
            "profile": "provisioning" if self.provisioning else "operational",
            "services": self.services(),
            "bearers": [b.to_json() for b in self.bearers],
        }


class Gateway:
    """The ESPGW. `maps_url` is the policy point PP bearers are tied to (None: no PP can get data)."""

    def __init__(
        self,
        *,
        smdp_apn: str = DEFAULT_SMDP_APN,
        maps_url: str | None = None,
        ue_pool: str = DEFAULT_UE_POOL,
        events: EventLog | None = None,
    ) -> None:
        self.smdp_apn = smdp_apn
        self.maps_url = maps_url
        self.events = events if events is not None else EventLog()
        try:
            self._addresses = ipaddress.ip_network(ue_pool).hosts()
        except ValueError as exc:
            raise InputError(f"UE address pool {ue_pool!r}: {exc}") from None
        next(self._addresses)  # the first host is the gateway's own address

    def create_session(
        self, imsi: str, contract: Contract, *, provisioning: bool, requested_apn: str | None = None
    ) -> Session:
        """The default bearer after an accepted attach (AttachRejected if there is nothing to give)."""
        session = Session(imsi, provisioning, contract, self)
        try:
            session.bearers.append(self.bearer_for(session, requested_apn))
        except ServiceRefused as exc:
            raise AttachRejected("no data service", exc.reason) from None
        return session

    def bearer_for(self, session: Session, requested_apn: str | None) -> Bearer:
        log = self.events.record
        if session.provisioning:
            if self.maps_url is None:
                raise ServiceRefused("data", "no policy point (MAPS) configured for provisioning profiles")
            bearer = Bearer(self.smdp_apn, requested_apn, self._next_address(), True, self.maps_url)
            if requested_apn != self.smdp_apn:
                log(
                    "gateway",
                    "apn-replaced",
                    imsi=session.imsi,
                    requested=requested_apn or "-",
                    granted=self.smdp_apn,
                )
            log("gateway", "bearer", imsi=session.imsi, apn=bearer.apn, restricted=True, via=self.maps_url)
            return bearer
        apn = requested_apn or session.contract.default_apn
        if apn is None:
            log("gateway", "bearer-refused", imsi=session.imsi, reason="no data APN under contract")
            raise ServiceRefused("data", "no data APN under contract")
        if apn not in session.contract.data_apns:
            log("gateway", "bearer-refused", imsi=session.imsi, apn=apn, reason=NOT_UNDER_CONTRACT)
            raise ServiceRefused(f"data on APN {apn}", NOT_UNDER_CONTRACT)
        bearer = Bearer(apn, requested_apn, self._next_address(), False)
        log("gateway", "bearer", imsi=session.imsi, apn=apn, restricted=False, ue=bearer.ue_address)
        return bearer

    def check_service(self, session: Session, service: str, in_contract: bool, **details: object) -> None:
        if session.provisioning or not in_contract:
            self.events.record(
                "gateway", f"{service}-refused", imsi=session.imsi, reason=NOT_UNDER_CONTRACT, **details
            )
            raise ServiceRefused(service, NOT_UNDER_CONTRACT)
        self.events.record("gateway", service, imsi=session.imsi, **details)

    def _next_address(self) -> str:
        return str(next(self._addresses))
