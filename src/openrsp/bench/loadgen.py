"""Complete downloads against a running SM-DP+: many devices at once, each download its own eUICC.

A download is what an LPA does with an activation code: initiateAuthentication,
authenticateClient, getBoundProfilePackage, handleNotification (the installation result), over
one keep-alive HTTPS connection that the device opens for the download (a new device, a new
connection and TLS handshake). `concurrency` devices work in parallel until the deadline or the
orders run out. Every answer is checked as a card and an LPA would check it; a refusal anywhere
makes the download a failure, with its reason kept.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.bench.card import CardRefusal, FleetContext, LoadCard
from openrsp.bench.fleet import VirtualEuicc
from openrsp.bench.https import Connection, Endpoint, HttpError
from openrsp.errors import OpenRSPError

ES9_PATH = "/gsma/rsp2/es9plus/"
FUNCTIONS = ("initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification")
MAX_FAILURE_EXAMPLES = 5


class DownloadFailed(OpenRSPError):
    """One download did not complete: a refused ES9+ call, or the card refused an answer."""


@dataclass(frozen=True)
class ReleasedOrder:
    """A profile the operator has ordered and released, waiting for the activation code's use."""

    iccid: str
    matching_id: str


@dataclass
class LoadResult:
    downloads: int = 0
    failures: int = 0
    failure_examples: list[str] = field(default_factory=list)
    elapsed: float = 0.0  # seconds from the first request to the last answer
    latencies: dict[str, list[float]] = field(default_factory=dict)  # function -> seconds

    def record(self, name: str, seconds: float) -> None:
        self.latencies.setdefault(name, []).append(seconds)

    def fail(self, reason: str) -> None:
        self.failures += 1
        if len(self.failure_examples) < MAX_FAILURE_EXAMPLES:
            self.failure_examples.append(reason)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


class Device:
    """An LPA with one eUICC in it, over one connection, timing each ES9+ call."""

    def __init__(self, connection: Connection, card: LoadCard, result: LoadResult, smdp_address: str) -> None:
        self.connection = connection
        self.card = card
        self.result = result
        self.smdp_address = smdp_address

    async def call(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            response = await self.connection.post_json(ES9_PATH + function, payload)
        except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
            raise DownloadFailed(f"{function}: {type(exc).__name__}: {exc}") from None
        self.result.record(function, time.perf_counter() - start)
        if response.status == 204:
            return {}
        if response.status != 200:
            raise DownloadFailed(f"{function}: HTTP {response.status}")
        answer = response.json()
        status = answer.get("header", {}).get("functionExecutionStatus", {})
        if status.get("status") != "Executed-Success":
            data = status.get("statusCodeData", {})
            raise DownloadFailed(
                f"{function}: {data.get('subjectCode')}/{data.get('reasonCode')} {data.get('message', '')}"
            )
        return answer

    async def authenticate(self, matching_id: str) -> dict[str, Any]:
        """initiateAuthentication and authenticateClient: the answer with smdpSigned2."""
        card = self.card
        challenge, info1 = card.initiate_request()
        init = await self.call(
            "initiateAuthentication",
            {"euiccChallenge": _b64(challenge), "euiccInfo1": _b64(info1), "smdpAddress": self.smdp_address},
        )
        response = card.authenticate_server(
            _unb64(init["serverSigned1"]),
            _unb64(init["serverSignature1"]),
            _unb64(init["euiccCiPKIdToBeUsed"]),
            _unb64(init["serverCertificate"]),
            matching_id,
        )
        return await self.call(
            "authenticateClient",
            {"transactionId": init["transactionId"], "authenticateServerResponse": _b64(response)},
        )

    async def download(self, order: ReleasedOrder) -> None:
        card = self.card
        auth = await self.authenticate(order.matching_id)
        response = card.prepare_download(
            _unb64(auth["smdpSigned2"]), _unb64(auth["smdpSignature2"]), _unb64(auth["smdpCertificate"])
        )
        bpp = await self.call(
            "getBoundProfilePackage",
            {"transactionId": auth["transactionId"], "prepareDownloadResponse": _b64(response)},
        )
        card.open_package(_unb64(bpp["boundProfilePackage"]))
        result = card.install_result(order.iccid, self.smdp_address)
        await self.call("handleNotification", {"pendingNotification": _b64(result)})

    async def cancel(self, order: ReleasedOrder) -> None:
        """Authenticate, then cancel the session as a user who postpones (the order stays)."""
        auth = await self.authenticate(order.matching_id)
        response = self.card.cancel_session(CancelSessionReason.postponed)
        await self.call(
            "cancelSession", {"transactionId": auth["transactionId"], "cancelSessionResponse": _b64(response)}
        )


async def _worker(
    endpoint: Endpoint,
    context: FleetContext,
    work: Iterator[tuple[VirtualEuicc, ReleasedOrder]],
    result: LoadResult,
    smdp_address: str,
    deadline: float | None,
    cancel: bool,
) -> None:
    for euicc, order in work:
        connection = Connection(endpoint)
        device = Device(connection, LoadCard(context, euicc), result, smdp_address)
        start = time.perf_counter()
        try:
            await (device.cancel(order) if cancel else device.download(order))
        except (DownloadFailed, CardRefusal) as exc:
            result.fail(str(exc))
        else:
            result.downloads += 1
            result.record("cancelSessionFlow" if cancel else "download", time.perf_counter() - start)
        finally:
            await connection.close()
        if deadline is not None and time.perf_counter() >= deadline:
            return


async def run_load(
    endpoint: Endpoint,
    context: FleetContext,
    work: list[tuple[VirtualEuicc, ReleasedOrder]],
    *,
    smdp_address: str,
    concurrency: int,
    duration: float | None = None,
    cancel: bool = False,
) -> LoadResult:
    """Run downloads (or authenticate-then-cancel flows) until `work` or `duration` runs out."""
    result = LoadResult()
    items = iter(work)
    start = time.perf_counter()
    deadline = start + duration if duration is not None else None
    await asyncio.gather(
        *(
            _worker(endpoint, context, items, result, smdp_address, deadline, cancel)
            for _ in range(concurrency)
        )
    )
    result.elapsed = time.perf_counter() - start
    return result
