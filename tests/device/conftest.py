"""Device screen fixtures: one world (PKI, SM-DP+, stock of profiles) per session, a fresh eUICC per
test, and the page served in-process on a free port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # device_world lives next to the tests

from device_world import EventRecorder, Page, World, build_world, https_for  # noqa: E402

from openrsp.device.phone import Phone  # noqa: E402
from openrsp.device.server import running  # noqa: E402


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
