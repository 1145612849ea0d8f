"""The whole network in one object: HSS, MME, gateway and MAPS sharing one event log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from openrsp.network.detection import ImsiRange, ProvisioningDetection
from openrsp.network.device import Modem
from openrsp.network.events import EventLog
from openrsp.network.gateway import DEFAULT_SMDP_APN, Gateway, Session
from openrsp.network.hss import Hss
from openrsp.network.maps import MapsPolicy, MapsProxy
from openrsp.network.mme import Mme


class MobileNetwork:
    """Start it (the MAPS listens), attach devices, stop it. Also a context manager."""

    def __init__(
        self,
        hss: Hss,
        *,
        smdp: tuple[str, int],
        provisioning_ranges: Iterable[str | ImsiRange] = (),
        trust_reported_class: bool = True,
        smdp_apn: str = DEFAULT_SMDP_APN,
        resolve: Mapping[str, str] | None = None,
        events: EventLog | None = None,
    ) -> None:
        """`smdp` is the SM-DP+ host and ES9+ port provisioning profiles may reach; `resolve` maps
        host names to addresses for the MAPS (e.g. the SM-DP+'s test name to 127.0.0.1)."""
        self.events = events if events is not None else EventLog()
        self.hss = hss
        self.maps = MapsProxy(MapsPolicy([smdp]), resolve=resolve, events=self.events)
        self.gateway = Gateway(smdp_apn=smdp_apn, events=self.events)
        detection = ProvisioningDetection.of(provisioning_ranges, trust_reported_class=trust_reported_class)
        self.mme = Mme(hss, self.gateway, detection=detection, events=self.events)

    def start(self) -> MobileNetwork:
        self.gateway.maps_url = self.maps.start()
        return self

    def stop(self) -> None:
        self.maps.stop()
        self.gateway.maps_url = None

    def __enter__(self) -> MobileNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def attach(self, modem: Modem, *, apn: str | None = None) -> Session:
        return self.mme.attach(modem, apn=apn)
