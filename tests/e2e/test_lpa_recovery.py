"""The SM-DP+ goes away in the middle: nothing half-installed, the order still consistent, and the
notifications kept on the eUICC until the SM-DP+ is back and takes them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from lpa_support import (
    OPENRSP,
    RESOLVE,
    Smdp,
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa,
    lpa_ok,
    pending_notifications,
    pki_fixture,  # noqa: F401 - fixture
)

from openrsp.euicc.store import open_card
from openrsp.lpa.core.errors import SmdpUnreachable
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.lpd import Download, DownloadRequest, Step
from openrsp.lpa.core.notifications import NotificationSender
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.https import HttpsSettings, load_ca_certificates
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.lpa.ui.session import LpaSession


@pytest.fixture
def own_smdp(pki: Path, tmp_path: Path):
    """An SM-DP+ of this test alone: it gets killed."""
    server = Smdp(pki, tmp_path / "smdp-data").start()
    try:
        yield server
    finally:
        server.stop()


def card(directory: Path) -> list[str]:
    return ["--euicc", str(directory)]


def read_until(stream, text: str, timeout: float = 60) -> str:
    """Read a child's stderr until `text` shows (the prompt has no newline: read bytes)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"no {text!r} in:\n{seen.decode(errors='replace')}"
        chunk = stream.read1(4096)
        assert chunk, f"stream ended before {text!r}:\n{seen.decode(errors='replace')}"
        seen += chunk
    return seen.decode(errors="replace")


def test_smdp_gone_while_the_user_decides(own_smdp, euicc):
    """Killed after authenticateClient: the download fails cleanly and works once the SM-DP+ is back."""
    iccid = own_smdp.generate(name="Patient Plan")
    code = own_smdp.order(iccid)
    child = subprocess.Popen(
        [str(OPENRSP), "lpa", "--euicc", str(euicc), "--resolve", RESOLVE, "profile", "download", "-a", code],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        shown = read_until(child.stderr, "Download and install this profile?")
        assert "Patient Plan" in shown
        own_smdp.stop()
        out, err = child.communicate(b"y\n", timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 1
    error = err.decode()
    assert "unreachable during getBoundProfilePackage" in error
    assert "session cancelled on the eUICC (timeout)" in error and "could not be told" in error
    assert installed_iccids(euicc) == [] and pending_notifications(euicc) == []

    own_smdp.start()  # same data, same port
    assert own_smdp.state(iccid) == "Released"  # the order survived the interruption
    downloaded = lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=card(euicc)).data
    assert downloaded["iccid"] == iccid
    assert installed_iccids(euicc) == [iccid]
    assert own_smdp.state(iccid) == "Installed"


def test_smdp_gone_after_the_package_arrived(own_smdp, euicc, pki):
    """Killed after getBoundProfilePackage: the eUICC installs from the package it holds; the install
    notification waits on the eUICC until `notification process` can deliver it."""
    iccid = own_smdp.generate()
    code = own_smdp.order(iccid)
    address, matching_id = code.split("$")[1:3]
    settings = HttpsSettings(
        tuple(load_ca_certificates([pki / "nist" / "ci.cert.pem"])),
        resolve={"smdp.openrsp.test": "127.0.0.1"},
    )
    session = LpaSession(lambda: InProcessTransport(open_card(euicc)), lambda: settings)
    es9 = session.connect(address)
    try:
        download = Download(
            session.es10,
            es9,
            DownloadRequest(address, matching_id),
            notifications=session.notification_sender(),
        )
        while download.step is not Step.LOAD_BOUND_PROFILE_PACKAGE:
            download.advance()
        own_smdp.stop()
        result = download.run()
    finally:
        es9.close()
        session.close()
    assert result.install.ok and result.install.iccid == iccid
    assert result.notification is not None and not result.notification.delivered
    assert isinstance(result.notification.error, SmdpUnreachable)
    assert installed_iccids(euicc) == [iccid]
    assert pending_notifications(euicc) == [(result.install.seq_number, "install")]

    kept = lpa("--json", "notification", "process", "--remove", card=card(euicc))
    assert kept.returncode == 1 and kept.payload["details"]["kept"] == [result.install.seq_number]
    assert pending_notifications(euicc) == [(result.install.seq_number, "install")]  # never dropped

    own_smdp.start()
    assert own_smdp.state(iccid) == "Downloaded"
    [sent] = lpa_ok("--json", "notification", "process", "--remove", card=card(euicc)).data
    assert (sent["delivered"], sent["removed"]) == (True, True)
    assert pending_notifications(euicc) == []
    assert own_smdp.state(iccid) == "Installed"


def test_operations_keep_their_notifications_while_the_smdp_is_away(own_smdp, euicc):
    iccid = own_smdp.generate()
    lpa_ok("profile", "download", "-a", own_smdp.order(iccid), "--yes", card=card(euicc))
    own_smdp.stop()

    enabled = lpa_ok(
        "--json", "profile", "enable", iccid, card=card(euicc)
    ).data  # the operation itself works
    [kept] = enabled["notifications"]
    assert (kept["profileManagementOperation"], kept["delivered"], kept["removed"]) == (
        "enable",
        False,
        False,
    )
    assert "unreachable" in kept["error"]
    disabled = lpa_ok("profile", "disable", iccid, card=card(euicc))
    assert "kept on the eUICC" in disabled.stdout and "notification process" in disabled.stdout
    assert [event for _, event in pending_notifications(euicc)] == ["enable", "disable"]

    own_smdp.start()
    # The next operation delivers what was kept before, then its own.
    deleted = lpa_ok("--json", "profile", "delete", iccid, card=card(euicc)).data
    assert [(n["profileManagementOperation"], n["delivered"]) for n in deleted["notifications"]] == [
        ("enable", True),
        ("disable", True),
        ("delete", True),
    ]
    assert pending_notifications(euicc) == [] and installed_iccids(euicc) == []


def test_es10_session_is_cancelled_when_the_card_refuses(own_smdp, euicc, pki):
    """Driven step by step: the Download reports where it is, and a refusal mid-way cancels both sides."""
    iccid = own_smdp.generate()
    code = own_smdp.order(iccid)
    address, matching_id = code.split("$")[1:3]
    settings = HttpsSettings(
        tuple(load_ca_certificates([pki / "brp" / "ci.cert.pem", pki / "nist" / "ci.cert.pem"])),
        resolve={"smdp.openrsp.test": "127.0.0.1"},
    )
    es10 = Es10(Es10Client(InProcessTransport(open_card(euicc))))
    steps: list[Step] = []
    session = LpaSession(lambda: InProcessTransport(open_card(euicc)), lambda: settings)
    with session.connect(address) as es9:
        download = Download(
            es10, es9, DownloadRequest(address, matching_id), consent=lambda meta: False, on_step=steps.append,
            notifications=NotificationSender(es10, session.connect),
        )  # fmt: skip
        with pytest.raises(Exception, match="refused the profile") as caught:
            download.run()
    assert steps == [
        Step.GET_CHALLENGE,
        Step.INITIATE_AUTHENTICATION,
        Step.AUTHENTICATE_SERVER,
        Step.AUTHENTICATE_CLIENT,
        Step.USER_CONSENT,
    ]
    assert any("endUserRejection" in note for note in caught.value.__notes__)
    assert own_smdp.state(iccid) == "Error"
    # The eUICC holds no session any more: cancelling again is refused, a new download starts clean.
    with pytest.raises(Exception, match="invalidTransactionId"):
        es10.cancel_session(download.transaction_id or b"", 0)
    assert installed_iccids(euicc) == []


def test_card_gone_in_the_middle_of_the_load(own_smdp, euicc, pki):
    """The card link breaks after a few segments: nothing is installed, and a new download succeeds."""
    iccid = own_smdp.generate()
    code = own_smdp.order(iccid)
    address, matching_id = code.split("$")[1:3]
    settings = HttpsSettings(
        tuple(load_ca_certificates([pki / "nist" / "ci.cert.pem"])),
        resolve={"smdp.openrsp.test": "127.0.0.1"},
    )
    transport = InProcessTransport(open_card(euicc))
    es10 = Es10(Es10Client(transport))

    def pull_the_card(progress) -> None:
        if progress.segment == 3:
            transport.close()

    session = LpaSession(lambda: transport, lambda: settings)
    with session.connect(address) as es9:
        download = Download(es10, es9, DownloadRequest(address, matching_id), progress=pull_the_card)
        with pytest.raises(Exception, match="closed") as caught:
            download.run()
    assert download.step is Step.LOAD_BOUND_PROFILE_PACKAGE
    assert any("cancelling the session on the eUICC failed too" in note for note in caught.value.__notes__)
    assert installed_iccids(euicc) == [] and pending_notifications(euicc) == []

    # Card back in: the SM-DP+ still holds the order, and binds the profile again for the new session.
    downloaded = lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=card(euicc)).data
    assert downloaded["iccid"] == iccid
    assert own_smdp.state(iccid) == "Installed"
