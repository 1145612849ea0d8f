"""`openrsp demo --ui`: once Figure 7 has run, the demo device's screen (openrsp.device) on 127.0.0.1,
with the SM-DP+ and the network still up, until Ctrl-C.

The page drives the very eUICC the run used, through the same LPA core, attached to the same
simulated network: the operational profile shows In use and OP attached; switching back to the
provisioning profile shows PP restricted, and a download from there goes through the MAPS. Each APDU
is paced by the card-link model's per-APDU cost (--apdu-overhead-ms), so progress can be watched.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

from openrsp.demo.figure7 import DEVICE_APN, Figure7
from openrsp.device.network_status import SimulatedNetwork
from openrsp.device.phone import Phone
from openrsp.device.server import DEFAULT_HOST, DEFAULT_PORT, bind, running


class DemoScreen:
    """The device screen of one demo run. The port is taken at once, before the run: a port in use
    is said before anything happens, not after the whole sequence."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> None:
        self.host = host
        self._sock = bind(host, port)

    def serve(self, world: Figure7, on_ready: Callable[[str], None]) -> None:
        """Serve the page for `world`'s device until Ctrl-C (or SIGTERM); `on_ready(url)` once up."""
        with running(phone_for(world), self.host, sock=self._sock) as url:
            on_ready(url)
            wait_for_interrupt()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> DemoScreen:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def phone_for(world: Figure7) -> Phone:
    """The demo device as the screen drives it: its eUICC folder, its LPA's HTTPS, its network."""
    assert world.network is not None
    settings = world.lpa_https(proxy=None)  # a restricted bearer adds its MAPS proxy (Phone does)
    return Phone.in_process(
        world.euicc_dir,
        lambda: settings,
        network=SimulatedNetwork(world.network, apn=DEVICE_APN),
        apdu_delay=world.options.link.apdu_overhead_ms / 1000,
    )


def wait_for_interrupt() -> None:
    """Block until Ctrl-C. SIGTERM ends the wait the same way (in the main thread), so that whoever
    stops the demo with it still gets the SM-DP+ subprocess stopped, not orphaned."""

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if main else None
    try:
        forever = threading.Event()
        while not forever.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
