"""The `pcsc` fixture: pcscd with vsmartcard's vpcd reader, for every test that goes through PC/SC.

Loaded as a pytest plugin by tests/conftest.py, so any test folder asks for it by name. Only one
pcscd can run on a machine (its socket is /run/pcscd/pcscd.comm): if one is already running it is
used as it is; otherwise one is started in the foreground for the session and stopped at its end.
A lock file keeps two test sessions on one machine (two checkouts, two people) from sharing pcscd
and vpcd's slots at the same time: the second waits for the first. Inside one process the lock is
re-entrant, so nested users never wait for themselves.

pyscard is imported only when a PC/SC test runs: collecting other tests never needs libpcsclite.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
LOCK_PATH = Path(tempfile.gettempdir()) / "openrsp-pcsc-tests.lock"
LOCK_TIMEOUT = 600.0
TIMEOUT = 20.0
STARTUP_TIMEOUT = 60.0  # pcscd's first listing, on a machine that may be busy


@dataclass
class Pcsc:
    readers: list[str]  # vpcd's readers, slot by slot
    ports: list[int]  # the TCP port each slot listens on


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# --- pcscd's view of readers and cards ---------------------------------------------------------------


def pcscd_answers() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


def list_readers() -> list[str]:
    from smartcard import scard

    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return []
    try:
        hr, names = scard.SCardListReaders(context, [])
        return list(names) if hr == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def card_present(reader: str) -> bool:
    """What pcscd believes right now (it polls vpcd for the card several times a second)."""
    from smartcard import scard

    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return False
    try:
        hr, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return hr == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


def vpcd_config() -> tuple[str, int]:
    """Reader name prefix and first TCP port of vpcd, as Debian's reader.conf.d/vpcd sets them."""
    assert VPCD_CONF.is_file(), f"{VPCD_CONF} missing: install the vsmartcard-vpcd package"
    text = VPCD_CONF.read_text()
    name = re.search(r'^\s*FRIENDLYNAME\s+"([^"]+)"', text, re.M)
    channel = re.search(r"^\s*CHANNELID\s+(\S+)", text, re.M)
    assert name and channel, f"no FRIENDLYNAME/CHANNELID in {VPCD_CONF}"
    return name.group(1), int(channel.group(1), 0)


def wait_until_bindable(ports: list[int], timeout: float = 90.0) -> None:
    """vpcd binds its ports without SO_REUSEADDR, so it cannot start while an earlier pcscd's closed
    connections on them sit in TIME_WAIT (up to 60 s on Linux): pcscd then runs without the reader.
    Wait until a plain bind, the way vpcd does it, succeeds on each port."""
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind(("0.0.0.0", port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"vpcd's port {port} stayed in use for {timeout:.0f} s"
                        ) from None
            time.sleep(0.5)


# --- one test session per machine at a time ----------------------------------------------------------


class MachineWideLock:
    """flock on a file for other processes; re-entrant for this one (a second flock on a new file
    handle in the same process would wait for the first forever)."""

    def __init__(self, path: Path, timeout: float = LOCK_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._guard = threading.RLock()
        self._depth = 0
        self._handle: IO[str] | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._guard:
            if self._depth == 0:
                self._handle = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._handle is not None:
                    fcntl.flock(self._handle, fcntl.LOCK_UN)
                    self._handle.close()
                    self._handle = None

    def _acquire(self) -> IO[str]:
        handle = self.path.open("a")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    raise AssertionError(
                        f"another test session held {self.path} for {self.timeout:.0f} s; is one stuck?"
                    ) from None
                time.sleep(0.2)


machine_wide_lock = MachineWideLock(LOCK_PATH)


# --- the fixture ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pcsc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcsc]:
    """pcscd listing vpcd's readers (one per slot), held for this session alone."""
    with machine_wide_lock.held():
        yield from _pcscd_session(tmp_path_factory)


def _pcscd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcsc]:
    name, first_port = vpcd_config()
    started: subprocess.Popen[bytes] | None = None
    log_path = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
    if not pcscd_answers():
        wait_until_bindable([first_port, first_port + 1])
        binary = shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")
        assert binary, "pcscd not found: install the pcscd package"
        with log_path.open("wb") as log:
            started = subprocess.Popen(
                [binary, "--foreground"], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    def vpcd_readers() -> list[str]:
        return sorted(reader for reader in list_readers() if reader.startswith(name))

    try:
        try:
            wait_for(
                lambda: (started is not None and started.poll() is not None) or bool(vpcd_readers()),
                f"pcscd to list the {name!r} reader",
                timeout=STARTUP_TIMEOUT,
            )
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}\n{_startup_report(started, log_path, first_port)}") from None
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


def _startup_report(started: subprocess.Popen[bytes] | None, log_path: Path, first_port: int) -> str:
    """What to look at when pcscd never listed vpcd's readers: whose pcscd, its log, who holds the ports."""
    whose = (
        "a pcscd already running (not started by this session)" if started is None else "this session's pcscd"
    )
    log = log_path.read_text(errors="replace")[-4000:] if log_path.exists() else "(no log)"
    try:
        listeners = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as failed:
        listeners = f"(ss: {failed})"
    ports = "\n".join(
        line for line in listeners.splitlines() if f":{first_port}" in line or f":{first_port + 1}" in line
    )
    return f"{whose}; its log:\n{log}\nlisteners on vpcd's ports:\n{ports or '(none)'}"
