"""The network line of the screen: PP restricted, OP attached, or no service.

A phone learns it by attaching: its modem reads the enabled profile's USIM and answers the network's
challenge. `SimulatedNetwork` does exactly that against openrsp's mobile network (openrsp.network)
after every change of profile; `NoNetwork` is a device with no network around it (it uses the host's
own connection). On a provisioning profile the network grants one restricted bearer whose traffic
must go through its policy point (the MAPS): the status carries that proxy, and the device's HTTPS to
SM-DP+s uses it, as a phone's would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from openrsp.errors import OpenRSPError
from openrsp.lpa.core.es10 import ProfileInfo
from openrsp.lpa.drivers.transport import ApduTransport

if TYPE_CHECKING:
    from openrsp.network.network import MobileNetwork

PP_RESTRICTED, OP_ATTACHED, NO_SERVICE = "pp-restricted", "op-attached", "no-service"


@dataclass(frozen=True)
class NetworkStatus:
    state: str  # PP_RESTRICTED, OP_ATTACHED or NO_SERVICE
    label: str  # what the status bar says
    detail: str = ""
    proxy: str | None = None  # the bearer's policy point: a PP reaches the SM-DP+ only through it

    @classmethod
    def no_service(cls, detail: str = "") -> NetworkStatus:
        return cls(NO_SERVICE, "No service", detail)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "label": self.label, "detail": self.detail}


class NetworkLink(Protocol):
    def status(
        self, open_transport: Callable[[], ApduTransport], enabled: ProfileInfo | None
    ) -> NetworkStatus: ...


class NoNetwork:
    def status(
        self, open_transport: Callable[[], ApduTransport], enabled: ProfileInfo | None
    ) -> NetworkStatus:
        return NetworkStatus.no_service("no mobile network is configured for this device")


class SimulatedNetwork:
    """Attach to an openrsp MobileNetwork with the eUICC's enabled profile, as a modem would."""

    def __init__(self, network: MobileNetwork, *, apn: str | None = None) -> None:
        self.network = network
        self.apn = apn

    def status(
        self, open_transport: Callable[[], ApduTransport], enabled: ProfileInfo | None
    ) -> NetworkStatus:
        from openrsp.network.device import Modem
        from openrsp.network.errors import AttachRejected

        if enabled is None:
            return NetworkStatus.no_service("no profile is in use")
        transport = open_transport()
        try:
            # The device tells the network the class of the profile it enabled (GetProfilesInfo).
            modem = Modem(transport, profile_class=lambda: enabled.profile_class)
            session = self.network.attach(modem, apn=self.apn)
        except AttachRejected as exc:
            return NetworkStatus.no_service(f"the network refused the profile: {exc.cause}")
        except OpenRSPError as exc:
            return NetworkStatus.no_service(str(exc))
        finally:
            transport.close()
        name = enabled.service_provider_name or enabled.profile_name or session.imsi
        if session.provisioning:
            detail = f"{name}: SM-DP+ only (APN {session.gateway.smdp_apn})"
            return NetworkStatus(PP_RESTRICTED, "PP restricted", detail, session.default_bearer.proxy)
        services = ", ".join(_service_words(s) for s in session.services()) or "no services"
        return NetworkStatus(OP_ATTACHED, "OP attached", f"{name}: {services}")


def _service_words(service: str) -> str:
    """ "data:internet" -> "data (internet)"; "voice", "sms" as they are."""
    kind, _, apn = service.partition(":")
    return f"{kind} ({apn})" if apn else kind
