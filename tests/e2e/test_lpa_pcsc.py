"""`openrsp lpa --pcsc` against `openrsp euicc serve` behind pcscd and vsmartcard's vpcd reader:
the whole path a real card takes (T=0, 255-byte STORE DATA blocks, 61xx / GET RESPONSE, a logical
channel), with the SM-DP+ over real HTTPS."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lpa_support import (
    OPENRSP,
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa,
    lpa_ok,
    pki_fixture,  # noqa: F401 - fixture
    smdp_fixture,  # noqa: F401 - fixture
)

from pcsc_fixture import Pcsc, card_present, wait_for

pytestmark = [pytest.mark.pcsc, pytest.mark.xdist_group("pcsc")]


@pytest.fixture
def served_card(pcsc: Pcsc, euicc: Path, tmp_path: Path) -> Iterator[str]:
    """`openrsp euicc serve` plugged into vpcd's first slot; yields the reader's name."""
    reader, port = pcsc.readers[0], pcsc.ports[0]
    log = tmp_path / "euicc-serve.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [str(OPENRSP), "euicc", "serve", str(euicc), "--vpcd", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        wait_for(lambda: child.poll() is not None or card_present(reader), f"the eUICC to show in {reader!r}")
        assert child.poll() is None, log.read_text()
        yield reader
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        wait_for(lambda: not card_present(reader), f"{reader!r} to be empty again")


def test_download_and_manage_profiles_over_pcsc(smdp, served_card, euicc, pki):
    via_pcsc = ["--pcsc", served_card, "--pki", str(pki)]
    info = lpa_ok("--json", "chip", "info", card=via_pcsc).data
    assert info["eidValue"] == lpa_ok("--json", "chip", "info", card=["--euicc", str(euicc)]).data["eidValue"]

    iccid = smdp.generate(name="PC/SC Plan")
    downloaded = lpa_ok("--json", "profile", "download", "-a", smdp.order(iccid), "--yes", card=via_pcsc).data
    assert downloaded["iccid"] == iccid and downloaded["notifications"][0]["delivered"]
    assert smdp.state(iccid) == "Installed"
    assert installed_iccids(euicc) == [iccid]  # the served card wrote its state

    lpa_ok("profile", "nickname", iccid, "over PC/SC", card=via_pcsc)
    lpa_ok("profile", "enable", iccid, card=via_pcsc)
    [listed] = lpa_ok("--json", "profile", "list", card=via_pcsc).data
    assert (listed["profileState"], listed["profileNickname"], listed["profileName"]) == (
        "enabled",
        "over PC/SC",
        "PC/SC Plan",
    )
    lpa_ok("--no-notify", "profile", "disable", iccid, card=via_pcsc)
    [pending] = lpa_ok("--json", "notification", "list", card=via_pcsc).data
    assert pending["profileManagementOperation"] == "disable"
    lpa_ok("notification", "process", "--remove", card=via_pcsc)
    lpa_ok("profile", "delete", iccid, card=via_pcsc)
    assert lpa_ok("--json", "profile", "list", card=via_pcsc).data == []
    assert lpa_ok("--json", "notification", "list", card=via_pcsc).data == []


def test_the_first_reader_with_a_card_is_used(served_card, pki):
    # `--pcsc` without a name, followed directly by the command: the reader is found, not "chip".
    run = lpa_ok("--json", "--pcsc", "chip", "info", card=[])
    assert len(run.data["eidValue"]) == 32
    wrong = lpa("--json", "chip", "info", card=["--pcsc", "No Such Reader"])
    assert wrong.returncode == 1 and "No Such Reader" in wrong.payload["data"]
