"""Fuzz targets: the LPA's reading of every ES9+ answer and of every ES10 answer.

ES9+: a whole download runs against the real SM-DP+ service (in process, behind an httpx transport)
and a real card; the answer of one function is replaced by its recorded real answer, mutated
(DER inside the base64 fields, the JSON shape, the header). ES10: each typed call of `Es10` gets the
real card's answer to its request, mutated. The LPA must end with a result or a typed error
(OpenRSPError: what the CLI prints as one line), within the deadline, and leave the card usable.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fuzz_support import (
    EXAMPLES,
    Tally,
    fuzz_settings,
    mutate,
    mutate_json,
    no_internal_errors,
    run_with_deadline,
)
from hypothesis import given
from hypothesis import strategies as st
from worlds import ES9_FUNCTIONS, CardWorld, SmdpWorld, WatchedTransport

from openrsp.asn1.tlv import iter_tlvs, read_tlv
from openrsp.errors import OpenRSPError
from openrsp.euicc.store import create_euicc, open_card
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.lpd import Download, DownloadRequest
from openrsp.lpa.core.notifications import NotificationSender
from openrsp.lpa.drivers.es9_client import Es9Client
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.https import HttpsSettings
from openrsp.rspserver.jsonapi import failure, success
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es9.service import Es9Service

JSON = {"Content-Type": "application/json"}


class HostileSmdp:
    """The real SM-DP+ service, except that one function's answer is a mutated recorded answer."""

    def __init__(self, world: SmdpWorld, function: str, rng: random.Random) -> None:
        self.world = world
        self.function = function
        self.rng = rng

    def handle(self, request: httpx.Request) -> httpx.Response:
        function = request.url.path.rsplit("/", 1)[-1]
        if function == self.function:
            answer = mutate_json(self.rng.choice(self.world.answers[function]), self.rng)
            if self.rng.random() < 0.1:  # not even JSON, or another HTTP status
                return httpx.Response(self.rng.choice([200, 204, 500]), content=mutate(b"{}", self.rng))
            # ASCII JSON: a lone surrogate travels as its \\u escape, as a hostile server may send it
            return httpx.Response(200, content=json.dumps(answer).encode(), headers=JSON)
        body = json.loads(request.content)
        try:
            answer = success(getattr(Es9Service(self.world.rig.context), function)(body))
        except Es9Error as exc:
            answer = failure(exc)
        if function == "handleNotification" and answer["header"]["functionExecutionStatus"][
            "status"
        ].startswith("Executed"):
            return httpx.Response(204)
        return httpx.Response(200, json=answer)


@pytest.fixture
def lpa_card(tmp_path: Path, pki_dir: Path):
    """A fresh card for the LPA targets (each input may install a profile on it)."""
    directory = tmp_path / "euicc"
    create_euicc(directory, pki=pki_dir, default_smdp="smdp.openrsp.test")
    return open_card(directory)


@pytest.mark.parametrize("function", ES9_FUNCTIONS)
def test_fuzz_lpa_reads_es9_answers(smdp_world: SmdpWorld, lpa_card, function: str):
    tally = Tally(f"lpa-es9:{function}")
    rig = smdp_world.rig

    @fuzz_settings(max(4, EXAMPLES // 4))  # each input is a whole download: fewer of them
    @given(seed=st.integers(0, 2**32 - 1))
    def one(seed: int) -> None:
        rng = random.Random(seed)
        iccid = rig.add_profile()
        matching_id = rig.order(iccid)
        smdp = HostileSmdp(smdp_world, function, rng)
        http = httpx.Client(transport=httpx.MockTransport(smdp.handle))
        es9 = Es9Client(rig.address, HttpsSettings(), http=http)
        transport = WatchedTransport(lpa_card)
        es10 = Es10(Es10Client(transport))
        download = Download(
            es10,
            es9,
            DownloadRequest(rig.address, matching_id),
            # cancelSession is only called when something fails: the user says no to reach it
            consent=lambda _metadata: function != "cancelSession",
            notifications=NotificationSender(es10, lambda _address: es9),
        )
        what = f"{function} answer mutated with seed {seed}"

        def run() -> None:
            with no_internal_errors(what):
                with contextlib.suppress(OpenRSPError):  # a typed error: one line for the user
                    download.run()
                assert not transport.internal_errors(), f"6F00 for {what}"

        run_with_deadline(run, what)
        tally.count()

    one()
    tally.write()


# --- ES10 answers ------------------------------------------------------------------------------------


class HostileCard:
    """The real card's answer to each request, mutated."""

    def __init__(self, client: Es10Client, rng: random.Random) -> None:
        self.client = client
        self.rng = rng

    def call(self, request: bytes) -> bytes:
        try:
            answer = self.client.call(request)
        except OpenRSPError:
            answer = b""
        return mutate(answer, self.rng)


def _authenticate_server(es10: Es10, request: bytes) -> Any:
    signed1, signature1, pkid, certificate, ctx = (t.raw for t in iter_tlvs(read_tlv(request).value))
    response = es10.authenticate_server(
        server_signed1=signed1,
        server_signature1=signature1,
        euicc_ci_pkid_to_be_used=pkid,
        server_certificate=certificate,
        ctx_params1=ctx,
    )
    return es10.authenticate_server_error(response)


def _prepare_download(es10: Es10, request: bytes) -> Any:
    items = [t.raw for t in iter_tlvs(read_tlv(request).value)]
    response = es10.prepare_download(
        smdp_signed2=items[0], smdp_signature2=items[1], smdp_certificate=items[-1]
    )
    return es10.prepare_download_error(response)


def _es10_calls(world: CardWorld) -> dict[str, Callable[[Es10], Any]]:
    iccid = world.iccid
    seeds = world.seeds
    return {
        "get_euicc_info1": lambda es10: es10.get_euicc_info1(),
        "get_euicc_info2": lambda es10: es10.get_euicc_info2(),
        "get_euicc_challenge": lambda es10: es10.get_euicc_challenge(),
        "authenticate_server": lambda es10: _authenticate_server(es10, seeds["AuthenticateServer"][0]),
        "prepare_download": lambda es10: _prepare_download(es10, seeds["PrepareDownload"][0]),
        "load_bound_profile_package": lambda es10: es10.load_bound_profile_package(bytes.fromhex("A000")),
        "cancel_session": lambda es10: es10.cancel_session(b"\x01" * 16, 0),
        "list_notifications": lambda es10: es10.list_notifications(),
        "retrieve_notifications": lambda es10: es10.retrieve_notifications(),
        "remove_notification": lambda es10: es10.remove_notification(99),
        "get_profiles_info": lambda es10: es10.get_profiles_info(),
        "enable_profile": lambda es10: es10.enable_profile("89000000000000000000"),
        "disable_profile": lambda es10: es10.disable_profile("89000000000000000000"),
        "delete_profile": lambda es10: es10.delete_profile("89000000000000000000"),
        "set_nickname": lambda es10: es10.set_nickname(iccid, "nick"),
        # only test profiles (there are none): the shared card keeps its profile
        "memory_reset": lambda es10: es10.memory_reset(operational=False, default_smdp_address=False),
        "get_eid": lambda es10: es10.get_eid(),
        "get_configured_addresses": lambda es10: es10.get_configured_addresses(),
        "set_default_dp_address": lambda es10: es10.set_default_dp_address("smdp.openrsp.test"),
    }


ES10_CALLS = [
    "get_euicc_info1",
    "get_euicc_info2",
    "get_euicc_challenge",
    "authenticate_server",
    "prepare_download",
    "load_bound_profile_package",
    "cancel_session",
    "list_notifications",
    "retrieve_notifications",
    "remove_notification",
    "get_profiles_info",
    "enable_profile",
    "disable_profile",
    "delete_profile",
    "set_nickname",
    "memory_reset",
    "get_eid",
    "get_configured_addresses",
    "set_default_dp_address",
]


@pytest.mark.parametrize("call", ES10_CALLS)
def test_fuzz_lpa_reads_es10_answers(card_world: CardWorld, call: str):
    tally = Tally(f"lpa-es10:{call}")
    action = _es10_calls(card_world)[call]
    client = Es10Client(WatchedTransport(card_world.rig.card))

    @fuzz_settings()
    @given(seed=st.integers(0, 2**32 - 1))
    def one(seed: int) -> None:
        es10 = Es10(HostileCard(client, random.Random(seed)))
        what = f"{call} with the answer mutated by seed {seed}"

        def run() -> None:
            with no_internal_errors(what), contextlib.suppress(OpenRSPError):
                action(es10)

        run_with_deadline(run, what)
        tally.count()

    one()
    tally.write()
