"""Device screen fixtures: one world (PKI, SM-DP+, stock of profiles) per session, a fresh eUICC per
test, and the page served in-process on a free port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # device_world lives next to the tests

from device_world import SMDP_HOST, EventRecorder, Page, World, build_world  # noqa: E402

from openrsp.device.phone import Phone  # noqa: E402
from openrsp.device.server import running  # noqa: E402
from openrsp.lpa.https import HttpsSettings, load_ca_certificates  # noqa: E402


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("device-world"))
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture
def card(world: World, request: pytest.FixtureRequest) -> Path:
    return world.new_card(request.node.name.replace("[", "-").replace("]", ""))


def https_for(world: World) -> HttpsSettings:
    cas = load_ca_certificates([world.pki / "nist" / "ci.cert.pem"])
    return HttpsSettings(tuple(cas), resolve={SMDP_HOST: "127.0.0.1"})


@pytest.fixture
def phone(world: World, card: Path) -> Phone:
    settings = https_for(world)
    return Phone.in_process(card, lambda: settings)


@pytest.fixture
def page(phone: Phone) -> Iterator[Page]:
    with running(phone) as url:
        client = Page(url)
        yield client
        client.http.close()


@pytest.fixture
def events(page: Page) -> Iterator[EventRecorder]:
    recorder = EventRecorder(page.url)
    yield recorder
    recorder.close()
