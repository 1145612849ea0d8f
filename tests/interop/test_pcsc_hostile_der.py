"""A fresh eUICC served by `openrsp euicc serve` behind pcscd and vpcd answers malformed AuthenticateServer
and PrepareDownload requests with 6A80 at once, and goes on answering: the requests that once sent its
DER decoder into an endless loop (the card stopped answering, the reader with it)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from openrsp.asn1 import rsp
from openrsp.euicc.store import create_euicc, open_euicc
from openrsp.lpa.drivers.es10_client import Es10Client, Es10TransportError
from openrsp.lpa.drivers.pcsc import PcscTransport
from openrsp.pki.testpki import init_pki
from pcsc_fixture import TIMEOUT, card_present, wait_for

pytestmark = [pytest.mark.pcsc, pytest.mark.xdist_group("pcsc")]

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "es10.txt"


def _hung_requests() -> list[bytes]:
    """The corpus requests that once hung the card (AuthenticateServer BF38, PrepareDownload BF21)."""
    found, note = [], ""
    for line in CORPUS.read_text().splitlines():
        if line.startswith("#"):
            note = line
        elif line.strip() and "hung" in note:
            found.append(bytes.fromhex(line.strip()))
    assert {r[:2] for r in found} == {b"\xbf\x38", b"\xbf\x21"}
    return found


def _within(seconds: float, work, what: str):
    """work() in a helper thread; a card that hangs fails the test instead of hanging it."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer within {seconds} s to {what}"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_served_euicc_refuses_the_requests_that_once_hung_it(pcsc, tmp_path):
    init_pki(tmp_path / "pki")
    create_euicc(tmp_path / "euicc", pki=tmp_path / "pki")
    eid = bytes.fromhex(open_euicc(tmp_path / "euicc").state.eid)
    reader, port = pcsc.readers[1], pcsc.ports[1]
    openrsp = Path(sys.executable).parent / "openrsp"
    process = subprocess.Popen(
        [str(openrsp), "euicc", "serve", str(tmp_path / "euicc"), "--vpcd", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: card_present(reader) or process.poll() is not None, f"the served eUICC in {reader!r}"
        )
        assert process.poll() is None, process.communicate()[1]

        def session() -> list[int]:
            status_words = []
            with PcscTransport(reader) as transport, Es10Client(transport) as client:
                for request in _hung_requests():
                    client.call(bytes.fromhex("BF2E00"))  # an RSP session open, as in a download
                    with pytest.raises(Es10TransportError) as refused:
                        client.call(request)
                    status_words.append(refused.value.sw)
                    assert client.call(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E125A10") + eid
                challenge = rsp().decode("GetEuiccChallengeResponse", client.call(bytes.fromhex("BF2E00")))
                assert len(challenge["euiccChallenge"]) == 16
            return status_words

        # A card that hangs fails the test (and is killed below) instead of hanging the test run.
        assert _within(TIMEOUT, session, "the malformed requests") == [0x6A80, 0x6A80]
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        wait_for(lambda: not card_present(reader), "the card to leave the reader after SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
