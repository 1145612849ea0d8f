"""The real PC/SC path: pcscd with vsmartcard's vpcd reader, and our card plugged into it.

Only one pcscd can run on a machine (its socket is /run/pcscd/pcscd.comm), so every test here is
marked `pcsc` and grouped with xdist_group("pcsc") to run in one worker. If a pcscd is already
running it is used as it is; otherwise one is started in the foreground and stopped at the end.
A lock file keeps two test sessions on the same machine (two checkouts, two people) from sharing
pcscd and vpcd's slots at the same time: the second one waits for the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pcsc_support import (
    Pcsc,
    SmallIsdR,
    VirtualCard,
    list_readers,
    pcscd_answers,
    plug_in,
    vpcd_config,
    wait_for,
)

from openrsp.euicc.iso7816 import Iso7816Card

LOCK_PATH = Path(tempfile.gettempdir()) / "openrsp-pcsc-tests.lock"
LOCK_TIMEOUT = 600.0


@contextlib.contextmanager
def machine_wide_lock() -> Iterator[None]:
    with LOCK_PATH.open("a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"another test session held {LOCK_PATH} for {LOCK_TIMEOUT:.0f} s; is one stuck?"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pcsc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcsc]:
    with machine_wide_lock():
        yield from _pcscd_session(tmp_path_factory)


def _pcscd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcsc]:
    name, first_port = vpcd_config()
    started: subprocess.Popen[bytes] | None = None
    log_path = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
    if not pcscd_answers():
        binary = shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")
        assert binary, "pcscd not found: install the pcscd package"
        with log_path.open("wb") as log:
            started = subprocess.Popen(
                [binary, "--foreground"], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    def vpcd_readers() -> list[str]:
        return sorted(reader for reader in list_readers() if reader.startswith(name))

    try:
        wait_for(
            lambda: (started is not None and started.poll() is not None) or bool(vpcd_readers()),
            f"pcscd to list the {name!r} reader",
        )
        if started is not None and started.poll() is not None:
            raise AssertionError(f"pcscd exited with {started.returncode}:\n{log_path.read_text()}")
        readers = vpcd_readers()
        yield Pcsc(readers, [first_port + slot for slot in range(len(readers))])
    finally:
        if started is not None:
            started.terminate()
            try:
                started.wait(10)
            except subprocess.TimeoutExpired:
                started.kill()
                started.wait()


@pytest.fixture
def virtual_card(pcsc: Pcsc) -> Iterator[VirtualCard]:
    isd_r = SmallIsdR()
    card = Iso7816Card(isd_r)
    reader = pcsc.readers[0]
    with plug_in(card, reader, pcsc.ports[0]):
        yield VirtualCard(reader, card, isd_r)
