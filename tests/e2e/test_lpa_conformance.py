"""openrsp's own LPA and eUICC against `openrsp smdp serve`: a retry reuses the one-time keys,
profile policy rules are checked by the SM-DP+ (forbiddenProfilePolicyRules) and by the LPA (the
eUICC's RAT, before consent), and an icon large enough to split StoreMetadata gets installed."""

from __future__ import annotations

import base64
import io
import json
import random
from pathlib import Path

import pytest
from lpa_support import (
    Smdp,
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa,
    lpa_ok,
    openrsp_in_process,
    pki_fixture,  # noqa: F401 - fixture
    unique_iccid,
)
from PIL import Image

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.euicc.store import RETRY_KEY_FILE, open_card, read_state, write_state
from openrsp.lpa.core.errors import DownloadCancelled
from openrsp.lpa.core.lpd import Download, DownloadRequest, Step
from openrsp.lpa.drivers.https import HttpsSettings, load_ca_certificates
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.lpa.ui.session import LpaSession
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.events import events


@pytest.fixture
def own_smdp(pki: Path, tmp_path: Path):
    """An SM-DP+ of this test alone: it gets restarted."""
    server = Smdp(pki, tmp_path / "smdp-data").start()
    try:
        yield server
    finally:
        server.stop()


def card(directory: Path) -> list[str]:
    return ["--euicc", str(directory)]


def generate(smdp: Smdp, *options: str) -> str:
    """`openrsp smdp profile generate … OPTIONS` on the SM-DP+'s data; the ICCID."""
    iccid = unique_iccid()
    imsi = f"00101{int(iccid[-10:]):010d}"
    run = openrsp_in_process(
        "smdp", "profile", "generate", "--iccid", iccid, "--imsi", imsi, "--spn", "Rules Mobile",
        "--name", "Ruled plan", "--data", str(smdp.data), "--out-secrets", str(smdp.data / f"{iccid}.csv"),
        *options,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run.stdout.split()[0]


def last_event(smdp: Smdp, iccid: str) -> tuple[str, dict]:
    database = open_database(load_config(data_dir=smdp.data))
    try:
        with database.transaction() as connection:
            event = events(connection, iccid)[-1]
            return event.event, dict(event.detail)
    finally:
        database.engine.dispose()


class Lpa:
    """openrsp's LPA in this process, on the eUICC folder, with a fresh card object per download
    (as a new `openrsp lpa` process would open it)."""

    def __init__(self, smdp: Smdp, euicc: Path) -> None:
        self.smdp = smdp
        self.euicc = euicc
        self.settings = HttpsSettings(
            tuple(load_ca_certificates([smdp.pki / "nist" / "ci.cert.pem"])),
            resolve={"smdp.openrsp.test": "127.0.0.1"},
        )

    def download(self, code: str, *, stop_before: Step | None = None) -> Download:
        address, matching_id = code.split("$")[1:3]
        session = LpaSession(lambda: InProcessTransport(open_card(self.euicc)), lambda: self.settings)

        def interrupt(step: Step) -> None:
            if step is stop_before:  # the user puts the download off for later
                raise DownloadCancelled("later", CancelSessionReason.postponed)

        es9 = session.connect(address)
        try:
            download = Download(
                session.es10,
                es9,
                DownloadRequest(address, matching_id),
                on_step=interrupt,
                notifications=session.notification_sender(),
            )
            try:
                download.run()
            except DownloadCancelled:
                assert stop_before is not None
        finally:
            es9.close()
            session.close()
        return download


def _offered_and_used(download: Download) -> tuple[bytes | None, bytes]:
    """(bppEuiccOtpk the SM-DP+ offered, euiccOtpk the eUICC answered with)."""
    signed2 = rsp().decode("SmdpSigned2", download._auth_client.smdp_signed2)
    prepared = rsp().decode("PrepareDownloadResponse", download._prepare_response)
    return signed2.get("bppEuiccOtpk"), prepared[1]["euiccSigned2"]["euiccOtpk"]


def test_a_postponed_download_is_retried_with_the_same_one_time_keys(own_smdp, euicc):
    iccid = own_smdp.generate()
    code = own_smdp.order(iccid)
    lpa_ = Lpa(own_smdp, euicc)
    first = lpa_.download(code, stop_before=Step.LOAD_BOUND_PROFILE_PACKAGE)
    offered, first_otpk = _offered_and_used(first)
    assert offered is None
    assert own_smdp.state(iccid) == "Released"  # postponed: the order waits
    assert (euicc / RETRY_KEY_FILE).stat().st_mode & 0o777 == 0o600  # the card keeps its otSK, privately

    own_smdp.stop()
    own_smdp.start()
    second = lpa_.download(code)
    offered, used = _offered_and_used(second)
    assert offered == first_otpk and used == first_otpk  # offered back, and reused by the eUICC
    assert second.result is not None and second.result.install.ok
    assert installed_iccids(euicc) == [iccid] and own_smdp.state(iccid) == "Installed"
    assert not (euicc / RETRY_KEY_FILE).exists()  # installed: the otSK is gone


def _noise_png(low: int = 900, high: int = 1024) -> bytes:
    rng = random.Random(9)
    for side in range(14, 20):
        image = Image.frombytes(
            "RGB", (side, side), bytes(rng.randrange(256) for _ in range(side * side * 3))
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        if low <= len(buffer.getvalue()) <= high:
            return buffer.getvalue()
    raise AssertionError("no noise PNG of the wanted size")


def test_a_ppr1_profile_with_an_icon_installs_where_the_rules_allow_it(own_smdp, euicc, tmp_path):
    icon = _noise_png()
    (tmp_path / "icon.png").write_bytes(icon)
    iccid = generate(own_smdp, "--ppr", "ppr1", "--icon", str(tmp_path / "icon.png"))
    listed = openrsp_in_process("smdp", "profile", "list", "--json", "--data", str(own_smdp.data))
    [row] = [row for row in json.loads(listed.stdout) if row["iccid"] == iccid]
    assert (row["profilePolicyRules"], row["iconType"]) == (["ppr1"], "png")
    # the default RAT allows PPR1 and PPR2 for any operator, with the user's consent
    code = own_smdp.order(iccid)
    downloaded = lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=card(euicc)).data
    assert downloaded["iccid"] == iccid
    [profile] = lpa_ok("--json", "profile", "list", card=card(euicc)).data
    assert profile["iconType"] == "png" and base64.b64decode(profile["icon"]) == icon
    lpa_ok("profile", "enable", iccid, card=card(euicc))
    disabled = lpa("profile", "disable", iccid, card=card(euicc))
    # enabled with PPR1: it may not be disabled
    assert disabled.returncode != 0 and "disallowedByPolicy" in disabled.stdout + disabled.stderr
    assert [p.ppr for p in read_state(euicc).profiles] == [["ppr1"]]
    assert read_state(euicc).profiles[0].icon == icon


def test_the_smdp_refuses_a_ppr1_profile_to_an_euicc_that_forbids_ppr1(own_smdp, euicc):
    state = read_state(euicc)
    state.info.forbidden_pprs = ["ppr1"]
    write_state(euicc, state)
    iccid = generate(own_smdp, "--ppr", "ppr1")
    run = lpa("--json", "profile", "download", "-a", own_smdp.order(iccid), "--yes", card=card(euicc))
    assert run.returncode == 1
    assert "8.2.5" in str(run.payload) and "4.3" in str(run.payload)
    assert installed_iccids(euicc) == [] and own_smdp.state(iccid) == "Released"


def test_the_lpa_refuses_a_ppr1_profile_its_rat_does_not_allow(own_smdp, euicc):
    state = read_state(euicc)
    state.rat = [rule for rule in state.rat if "ppr1" not in rule.pprs]  # PPR1 allowed for nobody
    write_state(euicc, state)
    iccid = generate(own_smdp, "--ppr", "ppr1")
    run = lpa("profile", "download", "-a", own_smdp.order(iccid), "--yes", card=card(euicc))
    assert run.returncode == 1
    text = run.stdout + run.stderr
    assert "not allowed on this eUICC" in text and "cannot be disabled" in text
    assert "session cancelled on the eUICC and the SM-DP+ (pprNotAllowed)" in text
    assert installed_iccids(euicc) == []
    # the SM-DP+ heard the reason: cancelSession(pprNotAllowed) ends the order
    assert own_smdp.state(iccid) == "Error"
    assert last_event(own_smdp, iccid) == (
        "sessionFailed",
        {"cancelSessionReason": "pprNotAllowed"},
    )


def test_an_operator_matching_id_with_an_underscore_downloads_with_openrsps_lpa(own_smdp, euicc):
    iccid = own_smdp.generate()
    code = own_smdp.order(iccid, matching_id="AC_NO_CC")
    assert code.endswith("$AC_NO_CC")
    assert (
        lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=card(euicc)).data["iccid"] == iccid
    )
    assert installed_iccids(euicc) == [iccid] and own_smdp.state(iccid) == "Installed"
