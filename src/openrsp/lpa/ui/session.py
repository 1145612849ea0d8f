"""One LPA session for one command: the card link (opened when first needed), HTTPS to SM-DP+s, and
the notification delivery that follows every profile operation.

The transport comes from a factory so that this module never knows which card it talks to (an
in-process eUICC, a PC/SC reader): the command line decides.
"""

from __future__ import annotations

from collections.abc import Callable

from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.notifications import NotificationOutcome, NotificationSender
from openrsp.lpa.drivers.es9_client import Es9Client
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.es11_client import Es11Client
from openrsp.lpa.drivers.https import HttpsSettings
from openrsp.lpa.drivers.transport import ApduTransport


class LpaSession:
    def __init__(
        self,
        open_transport: Callable[[], ApduTransport],
        https: Callable[[], HttpsSettings],
        *,
        notify: bool = True,
    ) -> None:
        self._open_transport = open_transport
        self._https_factory = https
        self._https: HttpsSettings | None = None
        self.notify = notify  # deliver pending notifications after each operation
        self._transport: ApduTransport | None = None
        self._client: Es10Client | None = None
        self._es10: Es10 | None = None

    @property
    def es10(self) -> Es10:
        if self._es10 is None:
            self._transport = self._open_transport()
            self._client = Es10Client(self._transport)
            self._es10 = Es10(self._client)
        return self._es10

    @property
    def https(self) -> HttpsSettings:
        if self._https is None:
            self._https = self._https_factory()
        return self._https

    def connect(self, address: str) -> Es9Client:
        """An ES9+ client for an SM-DP+ address (the TLS settings are checked on first use)."""
        settings = self.https
        settings.ssl_context()  # fail early and plainly when no CI certificate is configured
        return Es9Client(address, settings)

    def connect_smds(self, address: str) -> Es11Client:
        """An ES11 client for an SM-DS address (same TLS trust as for SM-DP+s: the CIs)."""
        settings = self.https
        settings.ssl_context()
        return Es11Client(address, settings)

    def notification_sender(self) -> NotificationSender:
        return NotificationSender(self.es10, self.connect)

    def after_operation(self) -> list[NotificationOutcome]:
        """Deliver every pending notification (new and kept ones), unless told to leave them."""
        if not self.notify:
            return []
        return self.notification_sender().process()

    def close(self) -> None:
        try:
            if self._client is not None:
                self._client.close()
        except Exception:  # the card may be gone already; closing must not hide the real outcome
            pass
        finally:
            if self._transport is not None:
                self._transport.close()
            self._client = self._transport = self._es10 = None
