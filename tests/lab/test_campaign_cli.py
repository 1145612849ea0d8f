"""`openrsp lab run --dut openrsp`: the whole campaign through the command line, its reports (JSON,
HTML opened in Chromium, JUnit), and `openrsp lab list`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import Result
from playwright.sync_api import expect, sync_playwright
from tests_lab_support import OPENRSP
from typer.testing import CliRunner

from openrsp.cli import main

pytestmark = pytest.mark.xdist_group("lab-cli")
CHROMIUM = "/usr/bin/chromium"


def openrsp(*args: str) -> Result:
    main._mount()
    return CliRunner().invoke(main.app, list(args), input="")


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory, ts48_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("lab-campaign")
    run = openrsp("lab", "run", "--dut", "openrsp", "--ts48", str(ts48_dir), "--slow-seconds", "0.5",
                  "--report", str(folder / "report"), "--junit", str(folder / "junit.xml"))  # fmt: skip
    assert run.exit_code == 0, run.output
    return folder


def test_every_available_case_passes(campaign: Path) -> None:
    document = json.loads((campaign / "report" / "campaign.json").read_text())
    verdicts = {case["id"]: case["verdict"] for case in document["cases"]}
    assert all(v == "pass" for v in verdicts.values()), verdicts
    assert {"discovery.smds", "policy.ppr-not-allowed"} <= set(verdicts)
    assert document["summary"] == {"pass": len(verdicts), "fail": 0, "inconclusive": 0, "not-run": 0}
    nominal = next(c for c in document["cases"] if c["id"] == "download.nominal")
    assert [re.search(r"s\s+(\w+)\(", line).group(1) for line in nominal["trace"]] == [
        "initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification",
    ]  # fmt: skip
    cut = next(c for c in document["cases"] if c["id"] == "network.cut-during-bpp")
    assert any("cancelSession(" in line and "reason=timeout" in line for line in cut["trace"])
    ppr = next(c for c in document["cases"] if c["id"] == "policy.ppr-not-allowed")
    assert any("cancelSession(" in line and "reason=pprNotAllowed" in line for line in ppr["trace"])
    discovery = next(c for c in document["cases"] if c["id"] == "discovery.smds")
    assert [(row["listener"], row["function"]) for row in discovery["exchange"]] == [
        ("smds", "initiateAuthentication"), ("smds", "authenticateClient"),
        ("main", "initiateAuthentication"), ("main", "authenticateClient"), ("main", "getBoundProfilePackage"),
        ("main", "handleNotification"), ("smds", "deleteEvent"),
    ]  # fmt: skip


def test_junit_names_every_case(campaign: Path) -> None:
    suite = ET.parse(campaign / "junit.xml").getroot()
    assert suite.get("failures") == "0" and suite.get("skipped") == "0"
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {
        "auth.wrong-server-address",
        "tls.wrong-host",
        "discovery.smds",
        "policy.ppr-not-allowed",
    } <= names


def test_html_report_shows_the_verdicts_in_chromium(campaign: Path, tmp_path: Path) -> None:
    page_file = campaign / "report" / "campaign.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            expect(page.locator("#case-download\\.nominal .verdict")).to_have_text("pass")
            expect(page.locator("#case-discovery\\.smds .verdict")).to_have_text("pass")
            expect(page.locator('[data-count="fail"]')).to_have_text("0")
            page.click("#case-tls\\.wrong-host summary")
            expect(page.locator("#case-tls\\.wrong-host pre")).to_contain_text(
                "no ES9+ request reached the lab"
            )
        finally:
            browser.close()


def test_list_shows_every_case_available() -> None:
    listed = openrsp("lab", "list")
    assert listed.exit_code == 0
    assert "refusal.expired" in listed.output and "auth.dpauth-other-ci" in listed.output
    assert "not yet available" not in listed.output
    smds = openrsp("lab", "list", "--cases", "discovery")
    assert smds.output.splitlines()[0].split() == [
        "discovery.smds", "Profile", "discovery", "through", "the", "SM-DS", "[needs:", "discover]",
    ]  # fmt: skip
    assert smds.output.splitlines()[2].strip() == "available"


def test_a_failing_case_fails_the_command(tmp_path: Path) -> None:
    run = openrsp("lab", "run", "--dut", "command", "--dut-cmd", "false {activation_code}",
                  "--cases", "download.nominal", "--junit", str(tmp_path / "j.xml"))  # fmt: skip
    assert run.exit_code == 1
    assert ET.parse(tmp_path / "j.xml").getroot().get("failures") == "1"


@pytest.mark.parametrize(
    "args",
    [("--cases", "nothing.like.this"), ("--dut", "lpac"), ("--card", "sim"), ("--curve", "ed25519"),
     ("--slow-seconds", "-1")],
)  # fmt: skip
def test_usage_errors(args: tuple[str, str]) -> None:
    run = openrsp("lab", "run", *args)
    assert run.exit_code == 2, run.output


def test_a_download_only_command_runs_what_it_can(tmp_path: Path) -> None:
    template = f"{OPENRSP} lpa --euicc {{euicc}} --ci {{ci}} --resolve {{resolve}} profile download -a {{activation_code}} --yes"
    run = openrsp("lab", "run", "--dut", "command", "--dut-cmd", template, "--report", str(tmp_path),
                  "--cases", "download.nominal,download.confirmation-code,notifications.lifecycle")  # fmt: skip
    assert run.exit_code == 0, run.output
    cases = {c["id"]: c for c in json.loads((tmp_path / "campaign.json").read_text())["cases"]}
    assert cases["download.nominal"]["verdict"] == "pass"
    assert cases["download.confirmation-code"]["verdict"] == "not-run"
    assert "{confirmation_code}" in cases["download.confirmation-code"]["reason"]
    assert cases["notifications.lifecycle"]["reason"] == "the command DUT cannot: manage"
