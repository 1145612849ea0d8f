"""`openrsp lab run --dut command --card pcsc`: the lab serves its virtual eUICC through pcscd +
vsmartcard's vpcd, and drives an external command-line LPA (the project's own `openrsp lpa --pcsc`,
run as a separate program, as lpac would be) through a command template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from tests_lab_support import CHROMIUM, OPENRSP
from typer.testing import CliRunner

from openrsp.cli import main
from pcsc_fixture import Pcsc

pytestmark = [pytest.mark.pcsc, pytest.mark.xdist_group("pcsc")]

CASES = (
    "download.nominal,download.confirmation-code-retry,refusal.expired,auth.bad-signature,tls.wrong-host,"
    "notifications.lifecycle,policy.ppr-not-allowed,discovery.smds"
)


def test_external_lpa_over_pcsc(pcsc: Pcsc, tmp_path: Path) -> None:
    template = f"{OPENRSP} lpa --pcsc {{reader}} --ci {{ci}} --resolve {{resolve}} --json {{command}}"
    main._mount()
    run = CliRunner().invoke(
        main.app,
        ["lab", "run", "--dut", "command", "--dut-cmd", template, "--card", "pcsc", "--cases", CASES,
         "--report", str(tmp_path / "report")],
        input="",
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    document = json.loads((tmp_path / "report" / "campaign.json").read_text())
    assert document["card"] == "pcsc" and document["dut"] == "command"
    assert {c["id"]: c["verdict"] for c in document["cases"]} == dict.fromkeys(CASES.split(","), "pass")
    lifecycle = next(c for c in document["cases"] if c["id"] == "notifications.lifecycle")
    assert [s["step"].split()[0] for s in lifecycle["steps"]] == ["download", "enable", "disable", "delete"]
    discovery = next(c for c in document["cases"] if c["id"] == "discovery.smds")
    assert discovery["steps"][0]["step"].startswith("check for eSIMs")  # `profile download --discover`

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto((tmp_path / "report" / "campaign.html").as_uri())
            expect(page.locator('[data-count="pass"]')).to_have_text(str(len(CASES.split(","))))
            expect(page.locator("#case-auth\\.bad-signature .verdict")).to_have_text("pass")
        finally:
            browser.close()


def test_the_project_lpa_through_pcsc(pcsc: Pcsc, tmp_path: Path) -> None:
    """`--dut openrsp --card pcsc`: the in-process LPA reaches the lab's card through pcscd too."""
    main._mount()
    run = CliRunner().invoke(
        main.app,
        ["lab", "run", "--card", "pcsc", "--cases", "download.nominal,network.cut-during-bpp",
         "--junit", str(tmp_path / "junit.xml")],
        input="",
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert run.output.count("pass ") >= 2
