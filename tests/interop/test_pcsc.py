"""Our card behind pcscd and vpcd, driven through pyscard exactly like a PC/SC LPA would."""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pcsc_support import BIG_RESPONSE, EID, SmallIsdR, plug_in

from openrsp.apdu import ISD_R_AID
from openrsp.euicc.iso7816 import DEFAULT_ATR, Iso7816Card
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.pcsc import PcscTransport
from openrsp.lpa.drivers.transport import NoCardError, NoReaderError
from pcsc_fixture import TIMEOUT, card_present, wait_for

pytestmark = [pytest.mark.pcsc, pytest.mark.xdist_group("pcsc")]

LAUNCHER = Path(__file__).resolve().parent / "serve_launcher.py"


def test_pcsc_scan_shows_the_card_and_its_atr(virtual_card):
    result = subprocess.run(["pcsc_scan", "-n", "-c"], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if virtual_card.reader in line)
    assert "Card inserted" in lines[at + 2]
    assert lines[at + 3].strip() == "ATR: 3B 80 80 01 01"


@pytest.mark.parametrize("protocol", ["T=0", "T=1"])
def test_raw_apdus_through_pyscard(virtual_card, protocol):
    with PcscTransport(virtual_card.reader, exclusive=True, protocol=protocol) as transport:
        assert transport.protocol == protocol
        assert transport.atr == DEFAULT_ATR
        assert transport.transmit(bytes.fromhex("80AA00000AA9088100820101830107")) == bytes.fromhex("9000")
        assert transport.transmit(bytes.fromhex("0070000001")) == bytes.fromhex("019000")
        announced = transport.transmit(bytes.fromhex("01A4040010") + ISD_R_AID)
        assert announced[0] == 0x61
        fci = transport.transmit(bytes.fromhex("81C00000") + announced[1:])
        assert fci[0] == 0x6F and ISD_R_AID in fci and fci[-2:] == b"\x90\x00"

        answer = transport.transmit(bytes.fromhex("81E2910006BF3E035C015A"))
        assert answer == bytes.fromhex("BF3E125A10") + EID + b"\x90\x00"

        # GetEUICCInfo2-sized answer: 256 bytes, then GET RESPONSE for the rest.
        first = transport.transmit(bytes.fromhex("81E2910003BF2200"))
        assert first[:-2] == BIG_RESPONSE[:256] and first[-2:] == b"\x61\x00"
        second = transport.transmit(bytes.fromhex("81C0000000"))
        assert second[:-2] == BIG_RESPONSE[256:512] and second[-2:] == b"\x61\xbc"
        third = transport.transmit(bytes.fromhex("81C00000BC"))
        assert third == BIG_RESPONSE[512:] + b"\x90\x00"

        assert transport.transmit(bytes.fromhex("0070800100")) == bytes.fromhex("9000")


@pytest.mark.parametrize("block_size", [120, 255])
def test_es10_client_over_pcsc(virtual_card, block_size):
    request = bytes.fromhex("BF50820800") + hashlib.sha256(b"x").digest() * 64
    with (
        PcscTransport(virtual_card.reader) as transport,
        Es10Client(transport, block_size=block_size) as client,
    ):
        assert client.call(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E125A10") + EID
        assert client.call(bytes.fromhex("BF2200")) == BIG_RESPONSE
        assert client.call(request) == bytes.fromhex("BF5000")
    assert virtual_card.isd_r.requests[-1] == request  # 2 KB arrived whole through pcscd and vpcd
    assert virtual_card.card.open_channels == [0]  # the client closed its channel


def test_reset_through_pcsc_drops_the_channels(virtual_card):
    with PcscTransport(virtual_card.reader) as transport:
        assert transport.transmit(bytes.fromhex("0070000001")) == bytes.fromhex("019000")
        transport.reset()
        assert transport.transmit(bytes.fromhex("81E2910006BF3E035C015A")) == bytes.fromhex("6881")


def test_unknown_reader_and_empty_reader_are_clear_errors(pcsc):
    with pytest.raises(NoReaderError, match="no PC/SC reader named 'No Such Reader'"):
        PcscTransport("No Such Reader")
    empty = pcsc.readers[1]
    wait_for(lambda: not card_present(empty), f"{empty!r} to be empty")
    with pytest.raises(NoCardError, match="no card in"):
        PcscTransport(empty)


def test_the_card_can_be_pulled_and_plugged_again(pcsc):
    reader, port = pcsc.readers[0], pcsc.ports[0]
    for _ in range(2):
        with plug_in(Iso7816Card(SmallIsdR()), reader, port), PcscTransport(reader) as transport:
            assert transport.transmit(bytes.fromhex("0070000001")) == bytes.fromhex("019000")
    with pytest.raises(NoCardError):
        PcscTransport(reader)


def test_openrsp_euicc_serve_behind_pcscd(pcsc, tmp_path):
    # Second vpcd slot, so this cannot meet the card of another test in the first one.
    reader, port = pcsc.readers[1], pcsc.ports[1]
    card_dir = tmp_path / "card"
    card_dir.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            str(LAUNCHER),
            EID.hex(),
            "euicc",
            "serve",
            str(card_dir),
            "--vpcd",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for(lambda: card_present(reader) or process.poll() is not None, f"the served card in {reader!r}")
        assert process.poll() is None, process.communicate()[1]
        with PcscTransport(reader) as transport, Es10Client(transport) as client:
            assert client.call(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E125A10") + EID
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        wait_for(lambda: not card_present(reader), "the card to leave the reader after SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_real_euicc_served_by_openrsp_behind_pcscd(pcsc, tmp_path):
    """The whole chain an external LPA (lpac) would use: eUICC folder -> `openrsp euicc serve` -> vpcd
    -> pcscd -> PC/SC client, with the real ISD-R answering lpac's `chip info` requests."""
    from openrsp.euicc.store import create_euicc, open_euicc
    from openrsp.pki.testpki import init_pki

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
        with (
            PcscTransport(reader, exclusive=True, protocol="T=0") as transport,
            Es10Client(transport) as client,
        ):
            assert client.call(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E125A10") + eid
            info2 = client.call(bytes.fromhex("BF2200"))
            assert info2[:2] == b"\xbf\x22"
            assert client.call(bytes.fromhex("BF2D00"))[:2] == b"\xbf\x2d"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr
        wait_for(lambda: not card_present(reader), "the card to leave the reader after SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
