"""The device screen end to end, in real headless Chromium (Debian's, driven by Playwright).

A fresh PKI, a real HTTPS SM-DP+ (`openrsp smdp serve`), profiles ordered with `openrsp smdp admin`,
an eUICC from `openrsp euicc create`, and `openrsp device serve` as a user starts it. The tests click
through the page like a person would and check what the eUICC holds with `openrsp lpa`.

Screenshots go to $OPENRSP_SCREENSHOTS when set (docs/screenshots for the docs), else to tmp_path.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "device"))  # the shared device test world

from device_world import (  # noqa: E402
    DeviceProcess,
    World,
    bootstrap_card,
    build_world,
    https_for,
    lpa_profiles,
    network_for,
    run,
    start_device,
)

from openrsp.device.network_status import SimulatedNetwork  # noqa: E402
from openrsp.device.phone import Phone  # noqa: E402
from openrsp.device.server import running  # noqa: E402

pytestmark = pytest.mark.xdist_group("device-screen")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 440, "height": 700}
# Each APDU takes this long in the tests that watch the progress bar, as over a real reader.
HUMAN_PACE_MS = "80"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("device-screen"))
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # empty user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OPENRSP_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def card(world: World, request: pytest.FixtureRequest) -> Path:
    return world.new_card(request.node.name)


@pytest.fixture
def open_page(world: World, card: Path, browser: BrowserContext) -> Iterator:
    """open_page(*serve_options) -> a browser tab on `openrsp device serve CARD` (stopped afterwards)."""
    started: list[tuple[DeviceProcess, Page]] = []
    problems: list[str] = []

    def open_(*options: str) -> Page:
        device = start_device(world, card, *options)
        tab = browser.new_page()
        tab.on("pageerror", lambda error: problems.append(str(error)))
        started.append((device, tab))
        tab.goto(device.url)
        expect(tab.locator("#eid")).to_have_text(_eid(world, card))
        return tab

    yield open_
    for device, tab in started:
        tab.close()
        device.stop()
    assert not problems, f"the page's script failed: {problems}"


def _eid(world: World, card: Path) -> str:
    from openrsp.euicc.store import read_state

    return read_state(card).eid


def _shot(tab: Page, path: Path) -> None:
    """A screenshot, as a small palette PNG (they go into the docs)."""
    image = Image.open(io.BytesIO(tab.screenshot())).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )


def _row(tab: Page, iccid: str):  # noqa: ANN202 - a Playwright Locator
    return tab.locator(f'.profile[data-iccid="{iccid}"]')


def _watch_progress(tab: Page) -> None:
    """Record every text the progress line shows, to check the bar moved segment by segment."""
    tab.evaluate(
        """() => {
            window.progressSeen = [];
            const line = document.getElementById('progress-text');
            new MutationObserver(() => window.progressSeen.push(line.textContent))
                .observe(line, {childList: true, characterData: true, subtree: true});
        }"""
    )


def test_add_an_esim_with_an_activation_code(world: World, card: Path, open_page, shots: Path) -> None:
    order = world.order()
    tab = open_page("--apdu-delay-ms", HUMAN_PACE_MS)
    expect(tab.locator("#network-label")).to_have_text("No service")
    expect(tab.locator("#no-profiles")).to_be_visible()
    _shot(tab, shots / "device-empty.png")

    tab.click("#add-esim")
    tab.fill("#activation-code", order.activation_code)
    _shot(tab, shots / "device-add-esim.png")
    tab.click("#add-continue")

    consent = tab.locator("#consent-dialog")
    expect(consent).to_be_visible(timeout=20_000)
    expect(consent.locator("#consent-name")).to_have_text(order.offer.name)
    expect(consent.locator("#consent-spn")).to_have_text(order.offer.spn)
    expect(consent.locator("#consent-iccid")).to_have_text(order.offer.iccid)
    expect(consent.locator("#consent-class")).to_have_text("operational")
    _shot(tab, shots / "device-consent.png")
    _watch_progress(tab)
    tab.click("#consent-yes")

    progress = tab.locator("#progress-dialog")
    expect(progress.locator("#progress-text")).to_contain_text("Segment", timeout=20_000)
    _shot(tab, shots / "device-progress.png")

    result = tab.locator("#result-dialog")
    expect(result.locator("#result-title")).to_have_text("eSIM added", timeout=30_000)
    expect(result.locator("#result-text")).to_contain_text(order.offer.iccid)
    _shot(tab, shots / "device-added.png")
    seen = [text for text in tab.evaluate("window.progressSeen") if text.startswith("Segment")]
    total = int(seen[-1].split(" of ")[1].split(" ")[0])
    assert seen[-1].startswith(f"Segment {total} of {total}") and total > 1
    assert any(text.startswith(f"Segment 1 of {total}") for text in seen)  # the bar moved while loading

    tab.click("#result-close")
    row = _row(tab, order.offer.iccid)
    expect(row.locator(".profile-title")).to_have_text(order.offer.name)
    expect(row.locator(".state")).to_have_text("Off")
    assert lpa_profiles(world, card)[order.offer.iccid]["profileState"] == "disabled"


def test_add_an_esim_from_a_qr_code_picture(world: World, card: Path, open_page) -> None:
    order = world.order(qr=True)
    assert order.qr is not None
    tab = open_page()

    tab.click("#add-esim")
    tab.set_input_files("#qr-file", str(order.qr))
    expect(tab.locator("#consent-name")).to_have_text(order.offer.name, timeout=20_000)
    tab.click("#consent-yes")
    expect(tab.locator("#result-title")).to_have_text("eSIM added", timeout=30_000)
    tab.click("#result-use")  # switch to it straight away

    row = _row(tab, order.offer.iccid)
    expect(row.locator(".state")).to_have_text("In use")
    assert lpa_profiles(world, card)[order.offer.iccid]["profileState"] == "enabled"


def test_add_an_esim_that_needs_a_confirmation_code(world: World, card: Path, open_page, shots: Path) -> None:
    order = world.order(cc="8642")
    tab = open_page()

    tab.click("#add-esim")
    tab.fill("#activation-code", order.activation_code)
    tab.click("#add-continue")
    tab.locator("#consent-yes").click(timeout=20_000)

    prompt = tab.locator("#code-dialog")
    expect(prompt).to_be_visible(timeout=20_000)
    expect(prompt.locator("#code-error")).to_be_hidden()
    tab.fill("#confirmation-code", "1234")
    tab.click("#code-continue")
    expect(prompt.locator("#code-error")).to_have_text(
        "The confirmation code is wrong. Try again. (SGP.22 code 8.2.7 / 3.8 (Confirmation Code - Refused))",
        timeout=20_000,
    )
    _shot(tab, shots / "device-confirmation-code.png")
    assert lpa_profiles(world, card) == {}

    tab.fill("#confirmation-code", "8642")
    tab.click("#code-continue")
    expect(tab.locator("#result-title")).to_have_text("eSIM added", timeout=30_000)
    tab.click("#result-close")
    expect(_row(tab, order.offer.iccid)).to_be_visible()
    assert order.offer.iccid in lpa_profiles(world, card)


def test_switch_rename_and_delete(world: World, card: Path, open_page, shots: Path) -> None:
    first, second = world.orders(2)
    for order in (first, second):  # installed with the CLI: the page shows the same eUICC
        world.lpa(card, "profile", "download", "-a", order.activation_code, "-y")
    a, b = first.offer.iccid, second.offer.iccid
    tab = open_page()

    _row(tab, a).get_by_role("button", name="Use this eSIM").click()
    expect(_row(tab, a).locator(".state")).to_have_text("In use")
    _row(tab, b).get_by_role("button", name="Use this eSIM").click()
    expect(_row(tab, b).locator(".state")).to_have_text("In use")
    expect(_row(tab, a).locator(".state")).to_have_text("Off")
    expect(tab.locator("#toast")).to_contain_text(f"Switched to {second.offer.name}.")

    _row(tab, b).get_by_role("button", name="Rename").click()
    tab.fill("#nickname", "Work phone")
    tab.click("#rename-save")
    expect(_row(tab, b).locator(".profile-title")).to_have_text("Work phone")
    expect(_row(tab, b).locator(".profile-sub")).to_contain_text(second.offer.name)
    expect(tab.locator("#toast")).to_have_text("Renamed to Work phone.")
    tab.locator("#toast").evaluate("t => t.hidden = true")
    _shot(tab, shots / "device-profiles.png")
    states = {i: (p["profileState"], p["profileNickname"]) for i, p in lpa_profiles(world, card).items()}
    assert states == {a: ("disabled", None), b: ("enabled", "Work phone")}

    _row(tab, a).get_by_role("button", name="Delete").click()
    dialog = tab.locator("#delete-dialog")
    expect(dialog).to_contain_text(f"{first.offer.name} (ICCID {a}) will be removed from this device.")
    _shot(tab, shots / "device-delete.png")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert a in lpa_profiles(world, card)  # cancelled: nothing deleted

    _row(tab, a).get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(_row(tab, a)).to_have_count(0)
    assert set(lpa_profiles(world, card)) == {b}

    # The profile in use cannot be deleted: the eUICC says why, the page says it in words.
    _row(tab, b).get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    toast = tab.locator("#toast")
    expect(toast).to_contain_text("Turn the profile off before deleting it.")
    expect(toast).to_contain_text("SGP.22 code DeleteProfile result 2 (profileNotInDisabledState)")
    assert set(lpa_profiles(world, card)) == {b}


def test_a_failed_download_shows_its_error(world: World, card: Path, open_page, shots: Path) -> None:
    tab = open_page()

    tab.click("#add-esim")
    tab.fill("#activation-code", "this is not a code")
    tab.click("#add-continue")
    expect(tab.locator("#add-error")).to_contain_text("Activation code:")

    tab.fill("#activation-code", f"LPA:1${world.address}$UNKNOWN-MATCHING-ID")
    tab.click("#add-continue")
    result = tab.locator("#result-dialog")
    expect(result.locator("#result-title")).to_have_text("eSIM not added", timeout=30_000)
    expect(result.locator("#result-text")).to_have_text(
        "The SM-DP+ does not know this activation code, or it has been used already."
    )
    expect(result.locator("#result-code")).to_have_text("SGP.22 code 8.2.6 / 3.8 (Matching ID - Refused)")
    _shot(tab, shots / "device-error.png")
    tab.click("#result-close")
    expect(tab.locator("#no-profiles")).to_be_visible()
    assert lpa_profiles(world, card) == {}


def _ppr1_order(world: World, number: int) -> tuple[str, str]:
    """A PPR1 profile (`profile generate --ppr ppr1`) ordered and released: (ICCID, activation code)."""
    secrets = world.base / f"ppr-{number}.csv"
    iccid = run(
        "smdp", "profile", "generate", "--data", str(world.smdp_data), "--iccid", f"89882110999000{number:04d}",
        "--imsi", f"00101999{number:07d}", "--spn", "Locked Mobile", "--name", "Locked plan", "--ppr", "ppr1",
        "--out-secrets", str(secrets),
    ).split()[0]  # fmt: skip
    admin = ["smdp", "admin", "--data", str(world.smdp_data), "--credentials", str(world.pki)]
    admin += ["--address", world.address]
    run(*admin, "order", "--iccid", iccid)
    return iccid, run(*admin, "confirm", "--iccid", iccid).strip()


def test_profile_policy_rules_are_checked_against_the_esims_rules(
    world: World, card: Path, open_page
) -> None:
    from openrsp.euicc.policy import default_rat
    from openrsp.euicc.store import read_state, write_state

    state = read_state(card)
    state.rat = [rule for rule in state.rat if "ppr1" not in rule.pprs]  # PPR1 allowed for no operator
    write_state(card, state)
    _, refused_code = _ppr1_order(world, 1)
    tab = open_page()
    tab.click("#add-esim")
    tab.fill("#activation-code", refused_code)
    tab.click("#add-continue")
    result = tab.locator("#result-dialog")
    expect(result.locator("#result-title")).to_have_text("eSIM not added", timeout=30_000)
    expect(result.locator("#result-text")).to_have_text(
        "This eSIM does not allow the rules this profile comes with; nothing was installed."
    )
    expect(result.locator("#result-code")).to_contain_text("pprNotAllowed")
    tab.click("#result-close")
    assert lpa_profiles(world, card) == {}

    state = read_state(card)
    state.rat = default_rat()  # PPR1 and PPR2 allowed, with the user's consent
    write_state(card, state)
    _, allowed_code = _ppr1_order(world, 2)
    tab.click("#add-esim")
    tab.fill("#activation-code", allowed_code)
    tab.click("#add-continue")
    consent = tab.locator("#consent-dialog")
    expect(consent).to_be_visible(timeout=20_000)
    expect(consent.locator("#consent-rules")).to_have_text(
        "cannot be turned off. Your eSIM's rules ask for your consent to these rules."
    )
    tab.click("#consent-no")
    expect(consent).to_be_hidden()
    assert lpa_profiles(world, card) == {}


def test_the_status_bar_shows_what_the_network_says(
    world: World, browser: BrowserContext, tmp_path: Path, shots: Path
) -> None:
    """Served in-process here: the simulated mobile network is wired in by whoever runs the device."""
    card = tmp_path / "card"
    bootstrap = bootstrap_card(world, card)
    order = world.order()
    settings = https_for(world)
    with network_for(world, tmp_path / "hss.sqlite", bootstrap, [order.offer]) as network:
        phone = Phone.in_process(card, lambda: settings, network=SimulatedNetwork(network))
        with running(phone) as url:
            tab = browser.new_page()
            try:
                tab.goto(url)
                expect(tab.locator("#network-label")).to_have_text("PP restricted")
                expect(tab.locator("#network")).to_have_attribute("data-state", "pp-restricted")
                expect(_row(tab, bootstrap.iccid).locator(".badge.class")).to_have_text("provisioning")
                _shot(tab, shots / "device-pp-restricted.png")

                tab.click("#add-esim")
                tab.fill("#activation-code", order.activation_code)
                tab.click("#add-continue")
                tab.locator("#consent-yes").click(timeout=20_000)
                tab.locator("#result-use").click(timeout=30_000)

                expect(tab.locator("#network-label")).to_have_text("OP attached")
                expect(tab.locator("#network-detail .network-words")).to_have_text(
                    f"{order.offer.spn}: data (internet), voice"
                )
                expect(_row(tab, order.offer.iccid).locator(".state")).to_have_text("In use")
                expect(_row(tab, bootstrap.iccid).locator(".state")).to_have_text("Off")
                expect(tab.locator("#toast")).to_have_text(f"Switched to {order.offer.name}.")
                tab.locator("#toast").evaluate("t => t.hidden = true")
                _shot(tab, shots / "device-op-attached.png")
            finally:
                tab.close()
