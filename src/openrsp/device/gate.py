"""One operation on the eUICC at a time.

The eUICC is a single-user card: an LPA session (a logical channel, a download in progress) must not
interleave with another. Short operations (list, enable, rename) wait for each other briefly; a
download holds the card for as long as the user takes to consent, so short operations arriving
meanwhile are refused at once with a message saying why instead of hanging the page. A download
waits its turn like anything else (the one before it may still be tidying up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from openrsp.errors import OpenRSPError

SHORT_WAIT = 30.0  # seconds a short operation waits for another short one


class CardBusy(OpenRSPError):
    """Another operation holds the eUICC."""


class CardGate:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._holder: str | None = None
        self._long = False

    @property
    def holder(self) -> str | None:
        """What holds the card now (e.g. "a profile download"), or None."""
        with self._changed:
            return self._holder

    @property
    def held_long(self) -> bool:
        with self._changed:
            return self._holder is not None and self._long

    @contextmanager
    def hold(self, what: str, *, long: bool = False, wait: float = SHORT_WAIT) -> Iterator[None]:
        """Hold the card for `what`; CardBusy when a short one meets a long holder or waiting times out."""
        deadline = time.monotonic() + wait
        with self._changed:
            while self._holder is not None:
                remaining = deadline - time.monotonic()
                if (self._long and not long) or remaining <= 0:
                    raise CardBusy(f"the eSIM is busy with {self._holder}; try again when it is done")
                self._changed.wait(remaining)
            self._holder, self._long = what, long
        try:
            yield
        finally:
            with self._changed:
                self._holder, self._long = None, False
                self._changed.notify_all()
