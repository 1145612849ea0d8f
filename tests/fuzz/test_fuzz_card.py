"""Fuzz targets: every ES10 function of the eUICC at APDU level, STORE DATA chaining included.

The seeds are the requests of a real session with the virtual card (a download with the test SM-DP+
harness, then the ES10c and notification functions on the installed profile). Each input is a
mutated request sent in STORE DATA blocks of a random size, or a mutated APDU inside a recorded
exchange. The card must answer every one with a status word or an ES10 result, never 6F00 (its
answer to an exception of its own), never an exception, within the deadline, and still answer
GetEUICCChallenge afterwards.
"""

from __future__ import annotations

import contextlib
import random

import pytest
from fuzz_support import (
    EXAMPLES,
    Tally,
    corpus,
    fuzz_settings,
    mutate,
    mutated,
    no_internal_errors,
    run_with_deadline,
)
from hypothesis import given
from hypothesis import strategies as st
from rsp_harness import Download, store_metadata
from worlds import CardWorld, WatchedTransport

from openrsp.asn1 import rsp
from openrsp.es8.segments import segments_for_lpa
from openrsp.lpa.drivers.es10_client import Es10Client, Es10TransportError


def _check_card(transport: WatchedTransport, client: Es10Client, what: str) -> None:
    """No 6F00 anywhere, and the card still hands out a challenge."""
    assert not transport.internal_errors(), f"6F00 for {what}: {transport.internal_errors()[0].hex()}"
    challenge = rsp().decode("GetEuiccChallengeResponse", client.call(bytes.fromhex("BF2E00")))
    assert len(challenge["euiccChallenge"]) == 16


def _send(world: CardWorld, function: str, request: bytes, block_size: int) -> None:
    transport = WatchedTransport(world.rig.card)
    client = Es10Client(transport, block_size=block_size, send_terminal_capability=False)
    what = f"{function} {request.hex().upper()}"

    def exchange() -> None:
        with no_internal_errors(what):
            if function == "AuthenticateServer":
                client.call(bytes.fromhex("BF2E00"))  # a session that may authenticate
            elif function == "PrepareDownload":
                world.rig.lpa.call = client.call
                world.rig.lpa.authenticate(Download(world.rig.lpa.new_transaction_id()))
            if request:
                with contextlib.suppress(Es10TransportError):  # a status word is an answer
                    client.call(request)
            _check_card(transport, client, what)
        client.close()

    run_with_deadline(exchange, what)


FUNCTIONS = [
    "GetEuiccChallenge",
    "GetEuiccInfo1",
    "GetEuiccInfo2",
    "GetEuiccConfiguredAddresses",
    "SetDefaultDpAddress",
    "GetEID",
    "GetProfilesInfo",
    "EnableProfile",
    "DisableProfile",
    "DeleteProfile",
    "EuiccMemoryReset",
    "SetNickname",
    "ListNotification",
    "RetrieveNotificationsList",
    "RemoveNotificationFromList",
    "GetRAT",
    "AuthenticateServer",
    "PrepareDownload",
    "CancelSession",
]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_fuzz_es10_function(card_world: CardWorld, function: str):
    tally = Tally(f"es10:{function}")
    seeds = card_world.seeds[function]

    @fuzz_settings()
    @given(request=mutated(seeds), block_size=st.sampled_from([1, 2, 7, 120, 255]))
    def one(request: bytes, block_size: int) -> None:
        _send(card_world, function, request, block_size)
        tally.count()

    one()
    tally.write()


@pytest.mark.parametrize("request_hex", [r.hex().upper() for r in corpus("es10")])
def test_es10_corpus(card_world: CardWorld, request_hex: str):
    """Requests that once made the card fail, sent to a card with a session open."""
    _send(card_world, "AuthenticateServer", bytes.fromhex(request_hex), 120)


def test_fuzz_es10_apdus(card_world: CardWorld):
    """Raw APDUs: one APDU of a recorded exchange changed (class, P1/P2 of a STORE DATA block, Lc ...)."""
    tally = Tally("es10:apdu")
    card = card_world.rig.card

    @fuzz_settings()
    @given(index=st.integers(0, len(card_world.exchange) - 1), seed=st.integers(0, 2**32 - 1))
    def one(index: int, seed: int) -> None:
        apdus = list(card_world.exchange)
        apdus[index] = mutate(apdus[index], random.Random(seed))
        what = " ".join(a.hex().upper() for a in apdus)

        def replay() -> None:
            card.reset()
            transport = WatchedTransport(card)
            with no_internal_errors(what):
                for apdu in apdus:
                    transport.transmit(apdu)
                card.reset()
                client = Es10Client(transport)
                _check_card(transport, client, what)
                client.close()

        run_with_deadline(replay, what)
        tally.count()

    one()
    tally.write()


def test_fuzz_load_bound_profile_package(card_world: CardWorld, smdp_credentials):
    """LoadBoundProfilePackage: one segment of a real, freshly bound package changed; the card answers
    every segment with a status word or a ProfileInstallationResult and stays usable."""
    tally = Tally("es10:LoadBoundProfilePackage")
    rig = card_world.rig

    @fuzz_settings(max(4, EXAMPLES // 4))  # each input is a whole download: fewer of them
    @given(seed=st.integers(0, 2**32 - 1))
    def one(seed: int) -> None:
        rng = random.Random(seed)
        transport = WatchedTransport(rig.card)
        client = Es10Client(transport, block_size=rng.choice([64, 120, 255]))
        rig.lpa.call = client.call
        download = Download(rig.lpa.new_transaction_id())
        rig.lpa.authenticate(download)
        rig.lpa.prepare(download)
        bpp = rig.smdp.bound_profile_package(
            download.transaction_id,
            download.euicc_otpk,
            rig.euicc.state.eid,
            card_world.package,
            store_metadata("89000123456789012341"),
        )
        segments = segments_for_lpa(bpp)
        index = rng.randrange(len(segments))
        segments[index] = mutate(segments[index], rng)
        what = f"BPP segment {index} {segments[index][:64].hex().upper()}"

        def load() -> None:
            with no_internal_errors(what):
                for segment in segments:
                    if not segment:
                        continue
                    try:
                        if client.call(segment):
                            break  # a ProfileInstallationResult ends the load
                    except Es10TransportError:
                        break
                _check_card(transport, client, what)
            client.close()

        run_with_deadline(load, what)
        tally.count()

    one()
    tally.write()
