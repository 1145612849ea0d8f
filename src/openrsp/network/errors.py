"""Typed failures of the network simulation; each says what a subscriber would be told."""

from openrsp.errors import OpenRSPError


class NetworkError(OpenRSPError):
    """Base of every error openrsp.network raises on purpose."""


class UnknownSubscriber(NetworkError):
    """The HSS has no subscription for this IMSI."""


class HssStorageError(NetworkError):
    """The HSS database or its storage key is unreadable, or sealed keys do not open."""


class ModemError(NetworkError):
    """The card did not answer the modem as a USIM should (no USIM, unreadable EF, odd status word)."""


class AttachRejected(NetworkError):
    """The network refused the attach; `cause` is the short reason the device would display."""

    def __init__(self, cause: str, detail: str = "") -> None:
        self.cause = cause
        self.detail = detail
        super().__init__(f"attach rejected: {cause}" + (f" ({detail})" if detail else ""))


class ServiceRefused(NetworkError):
    """A service (an APN, a voice call, an SMS) is not part of what this bearer may use."""

    def __init__(self, service: str, reason: str) -> None:
        self.service = service
        self.reason = reason
        super().__init__(f"{service} refused: {reason}")
