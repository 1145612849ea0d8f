"""`openrsp lab serve` with a phone simulated by the project's device screen (`openrsp device serve`
on an eUICC made from the SGP.26 test certificates), both pages in real headless Chromium: the tester
reads the activation code off the lab's page, adds the eSIM on the phone, watches what the SM-DP+
saw and answers what the phone's screen said."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from tests_lab_support import CHROMIUM, OPENRSP

from openrsp.lab.model import ADDED, ERROR_SHOWN

pytestmark = pytest.mark.xdist_group("lab-serve")


def _first_line(process: subprocess.Popen[str], stream: str, pattern: str, timeout: float = 60) -> re.Match:
    lines: list[str] = []

    def read() -> None:
        for line in getattr(process, stream):
            lines.append(line)
            if re.search(pattern, line):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    found = next((re.search(pattern, line) for line in lines if re.search(pattern, line)), None)
    if found is None:
        process.kill()
        raise AssertionError(f"no line matching {pattern!r}:\n{''.join(lines)}")
    return found


@pytest.fixture
def lab_serve(sgp26_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    process = subprocess.Popen(
        [str(OPENRSP), "lab", "serve", "--sgp26", str(sgp26_dir), "--cases", "download.nominal,refusal.expired",
         "--port", "0", "--report", str(tmp_path / "report")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        found = _first_line(process, "stderr", r"lab page: (\S+)\s+\(SM-DP\+ at (\S+)\)")
        yield process, found.group(1), found.group(2)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture
def phone(sgp26_dir: Path, tmp_path: Path, lab_serve) -> Iterator[str]:
    card = tmp_path / "phone-euicc"
    made = subprocess.run([str(OPENRSP), "euicc", "create", str(card), "--sgp26", str(sgp26_dir)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert made.returncode == 0, made.stderr
    host = lab_serve[2].split(":")[0]
    process = subprocess.Popen(
        [str(OPENRSP), "device", "serve", str(card), "--port", "0", "--resolve", f"{host}:127.0.0.1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        yield _first_line(process, "stdout", r"^(http://\S+)").group(1)
    finally:
        process.terminate()
        process.wait(10)


def _add_esim(device: Page, code: str) -> None:
    device.click("#add-esim")
    device.fill("#activation-code", code)
    device.click("#add-continue")


def test_a_campaign_with_a_simulated_phone(lab_serve, phone: str, tmp_path: Path) -> None:
    process, lab_url, _address = lab_serve
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            lab = browser.new_page()
            lab.goto(lab_url)
            device = browser.new_page()
            device.goto(phone)

            expect(lab.locator("#case-id")).to_have_text("download.nominal", timeout=60_000)
            expect(lab.locator("#device-status")).to_have_text("Waiting for the device…")
            expect(lab.locator("#qr")).to_be_visible()
            _add_esim(device, lab.locator("#code").inner_text())
            device.locator("#consent-yes").click(timeout=60_000)
            expect(device.locator("#result-title")).to_have_text("eSIM added", timeout=60_000)
            device.click("#result-close")
            expect(lab.locator("#trace")).to_contain_text("handleNotification", timeout=60_000)
            lab.get_by_role("button", name=ADDED).click()

            expect(lab.locator("#case-id")).to_have_text("refusal.expired", timeout=60_000)
            _add_esim(device, lab.locator("#code").inner_text())
            expect(device.locator("#result-title")).to_have_text("eSIM not added", timeout=60_000)
            expect(lab.locator("#trace")).to_contain_text("Failed 8.8.5/4.10", timeout=60_000)
            lab.get_by_role("button", name=ERROR_SHOWN).click()
            expect(lab.locator("#idle-text")).to_contain_text("Campaign finished: pass: 2", timeout=60_000)
            expect(lab.locator("#finished")).to_contain_text(f"refusal.expired: {ERROR_SHOWN}")
        finally:
            browser.close()
    assert process.wait(60) == 0
    document = json.loads((tmp_path / "report" / "campaign.json").read_text())
    assert document["dut"] == "manual" and document["card"] == "none"
    assert {c["id"]: (c["verdict"], c["answer"]) for c in document["cases"]} == {
        "download.nominal": ("pass", ADDED),
        "refusal.expired": ("pass", ERROR_SHOWN),
    }
