"""ES15 (alternative SM-DS -> root SM-DS), SGP.22 §5.10: the alternative's side.

An alternative SM-DS registers at its root, over mutual TLS with its CERT.DS.TLS, each event it
receives with the forwarding indicator, naming *itself* as the RSP server: a device that asks the root
is sent on to the alternative, which names the SM-DP+ (the cascade). Deletions follow. The root's
side is ES12's service (openrsp.smds.es12.service), reached under /gsma/rsp2/es15/ by DS TLS clients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openrsp.rspserver.es12_client import SmdsClient, SmdsRefused, SmdsTarget, SmdsUnreachable
from openrsp.smds import status

EVENT_UNKNOWN = ("8.9.5", "3.9")


@dataclass(frozen=True)
class RootLink:
    """How an alternative SM-DS reaches its root, and the address it gives the root for itself."""

    client: SmdsClient
    target: SmdsTarget
    own_address: str

    def register(self, eid: str, event_id: str) -> None:
        """The event at the root, pointing here; SmdsError 8.9/5.1 (root down) or 8.9/4.2 (refused)."""
        self._call(
            lambda: self.client.register_event(
                self.target, eid, event_id, self.own_address, forwarding=False, es15=True
            )
        )

    def delete(self, eid: str, event_id: str) -> None:
        """The event gone from the root too (already gone counts as done)."""
        self._call(lambda: self.client.delete_event(self.target, eid, event_id, es15=True), gone_is_ok=True)

    @staticmethod
    def _call(call: Callable[[], None], *, gone_is_ok: bool = False) -> None:
        try:
            call()
        except SmdsUnreachable as exc:
            raise status.ROOT_INACCESSIBLE.error(str(exc)) from None
        except SmdsRefused as exc:
            if gone_is_ok and (exc.subject_code, exc.reason_code) == EVENT_UNKNOWN:
                return
            raise status.ROOT_REFUSED.error(str(exc)) from None
