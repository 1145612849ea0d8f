"""ES9+ (LPA → SM-DP+) function logic — placeholder until the ES9+ handlers land.

The HTTP layer (openrsp.smdp.http.app) checks the framing, parses the JSON and calls
`Es9Service(context).<function>(body)` with the ES9+ function name; the returned dict is the
response without its header. Raise openrsp.smdp.errors.Es9Error(subject, reason, message) to fail.
"""

from __future__ import annotations

from typing import Any

from openrsp.smdp.context import SmdpContext
from openrsp.smdp.errors import Es9Error


class Es9Service:
    def __init__(self, context: SmdpContext) -> None:
        self.context = context

    def initiateAuthentication(self, body: dict[str, Any]) -> dict[str, Any]:
        raise Es9Error("8.8.1", "3.8", "not implemented yet")

    def authenticateClient(self, body: dict[str, Any]) -> dict[str, Any]:
        raise Es9Error("8.8.1", "3.8", "not implemented yet")

    def getBoundProfilePackage(self, body: dict[str, Any]) -> dict[str, Any]:
        raise Es9Error("8.8.1", "3.8", "not implemented yet")

    def handleNotification(self, body: dict[str, Any]) -> dict[str, Any]:
        raise Es9Error("8.8.1", "3.8", "not implemented yet")

    def cancelSession(self, body: dict[str, Any]) -> dict[str, Any]:
        raise Es9Error("8.8.1", "3.8", "not implemented yet")
