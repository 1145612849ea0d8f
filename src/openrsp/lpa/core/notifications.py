"""Delivering the eUICC's pending notifications (SGP.22 §3.5) to the SM-DP+ that should hear them.

A notification leaves the eUICC only after its SM-DP+ has taken it (HTTP 2xx to handleNotification):
when the SM-DP+ is unreachable or refuses it, it stays on the eUICC and the outcome says why, so that
`notification process` can send it again later. Nothing is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from openrsp.lpa.core.errors import LpaError, LpaInputError
from openrsp.lpa.core.es10 import Es10, NotificationMetadata, PendingNotification
from openrsp.lpa.core.servers import Es9Server

Connect = Callable[[str], Es9Server]


@dataclass(frozen=True)
class NotificationOutcome:
    metadata: NotificationMetadata
    delivered: bool
    removed: bool
    error: LpaError | None = None  # why it was not delivered
    warning: LpaError | None = None  # delivered, but the SM-DP+ complained about it

    @property
    def kept(self) -> bool:
        return not self.removed


class NotificationsKept(LpaError):
    """Some notifications could not be delivered; they stay on the eUICC for a later attempt."""

    step = "es9p_handle_notification"

    def __init__(self, outcomes: list[NotificationOutcome]) -> None:
        self.outcomes = outcomes
        kept = [o for o in outcomes if not o.delivered]
        first = kept[0]
        super().__init__(
            f"{len(kept)} of {len(outcomes)} notifications not delivered and kept on the eUICC "
            f"(first: {first.metadata.seq_number} to {first.metadata.address}: {first.error})"
        )

    def details(self) -> dict[str, object]:
        return {
            "kept": [o.metadata.seq_number for o in self.outcomes if not o.delivered],
            "delivered": [o.metadata.seq_number for o in self.outcomes if o.delivered],
        }


class NotificationSender:
    """Sends pending notifications with `connect(address) -> Es9Server`, removing what was delivered."""

    def __init__(self, es10: Es10, connect: Connect) -> None:
        self.es10 = es10
        self.connect = connect

    def pending(self, seq_numbers: Iterable[int] | None = None) -> list[PendingNotification]:
        """The signed notifications asked for (all when None), oldest first."""
        if seq_numbers is None:
            found = self.es10.retrieve_notifications()
        else:
            found = []
            for seq in dict.fromkeys(seq_numbers):
                match = [n for n in self.es10.retrieve_notifications(seq) if n.metadata.seq_number == seq]
                if not match:
                    raise LpaInputError(
                        f"the eUICC holds no notification {seq}", step="es10b_retrieve_notifications_list"
                    )
                found.extend(match)
        return sorted(found, key=lambda n: n.metadata.seq_number)

    def process(
        self, seq_numbers: Iterable[int] | None = None, *, remove: bool = True
    ) -> list[NotificationOutcome]:
        """Deliver each notification asked for; remove it from the eUICC once delivered (if `remove`)."""
        outcomes: list[NotificationOutcome] = []
        clients: dict[str, Es9Server] = {}
        failed: dict[str, LpaError] = {}  # an address that failed once is not tried again in this run
        try:
            for notification in self.pending(seq_numbers):
                address = notification.metadata.address
                error = failed.get(address)
                warning = None
                if error is None:
                    error, warning = self._send(notification, clients)
                if error is not None:
                    failed.setdefault(address, error)
                    outcomes.append(NotificationOutcome(notification.metadata, False, False, error))
                    continue
                removed = remove and self.es10.remove_notification(notification.metadata.seq_number)
                outcomes.append(NotificationOutcome(notification.metadata, True, removed, warning=warning))
        finally:
            for client in clients.values():
                client.close()
        return outcomes

    def _send(
        self, notification: PendingNotification, clients: dict[str, Es9Server]
    ) -> tuple[LpaError | None, LpaError | None]:
        """(why it was not delivered, what the SM-DP+ said about a delivered one)."""
        address = notification.metadata.address
        try:
            if address not in clients:
                clients[address] = self.connect(address)
            return None, clients[address].handle_notification(notification.der)
        except LpaError as exc:
            return exc, None
