"""What the LPA end-to-end tests need: a real HTTPS SM-DP+ (`openrsp smdp serve` in its own process),
profiles in its inventory, the operator's ES2+ orders, a virtual eUICC, and `openrsp lpa` runs.

The SM-DP+ listens on a free port of 127.0.0.1 under its TLS name (smdp.openrsp.test, from
`openrsp pki init`); `--resolve` points the LPA's HTTPS there without touching /etc/hosts.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrsp.euicc.store import create_euicc, read_state
from openrsp.pki.testpki import init_pki
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.es2.client import Es2Client
from openrsp.smdp.inventory import generate_profiles, subscriptions_from_rows
from ports import free_port

OPENRSP = Path(sys.executable).parent / "openrsp"
SMDP_HOST = "smdp.openrsp.test"
RESOLVE = f"{SMDP_HOST}:127.0.0.1"
TIMEOUT = 120

_serial = itertools.count(1)


def unique_iccid() -> str:
    """A 19-digit ICCID (18 digits + Luhn) no other test of this run uses."""
    return f"8999{os.getpid() % 100000:05d}{next(_serial):04d}{random.randrange(100000):05d}"


# --- the SM-DP+ ------------------------------------------------------------------------------------------


@dataclass
class Smdp:
    pki: Path
    data: Path
    port: int = field(default_factory=free_port)
    extra: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{SMDP_HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.data.parent / f"smdp-{self.port}.log"

    def start(self) -> Smdp:
        """`openrsp smdp serve` on this port; returns once it answers over TLS."""
        return self.launch().wait_ready()

    def launch(self) -> Smdp:
        """Start the process without waiting (to start several servers side by side)."""
        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(OPENRSP), "smdp", "serve", "--data", str(self.data), "--credentials", str(self.pki),
                 "--port", str(self.port), "--address", self.address, *self.extra],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip
        return self

    def wait_ready(self, timeout: float = 120) -> Smdp:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"openrsp smdp serve exited:\n{self.log.read_text()}")
            if self._healthy():
                return self
            time.sleep(0.1)
        self.stop()  # never leave a server behind that no fixture will stop
        raise AssertionError(f"openrsp smdp serve did not answer:\n{self.log.read_text()}")

    def _healthy(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki / "nist" / "ci.cert.pem"))
        try:
            with httpx.Client(verify=context, timeout=5) as http:
                response = http.get(
                    f"https://127.0.0.1:{self.port}/openrsp/health", extensions={"sni_hostname": SMDP_HOST}
                )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def stop(self) -> None:
        """SIGKILL: the server gets no chance to tidy up, as when a machine dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.process = None

    def es2(self) -> Es2Client:
        return Es2Client(
            f"https://127.0.0.1:{self.port}",
            client_cert=self.pki / "operator-tls" / "client.cert.pem",
            client_key=self.pki / "operator-tls" / "client.key.pem",
            ca=self.pki / "nist" / "ci.cert.pem",
            tls_name=SMDP_HOST,
        )

    def es2_call(self, function: str, **fields: Any) -> dict[str, Any]:
        client = self.es2()
        try:
            return client.call(function, {k: v for k, v in fields.items() if v is not None})
        finally:
            client.close()

    # --- inventory and orders ----------------------------------------------------------------------
    def _database(self):  # noqa: ANN202 - the SM-DP+'s own database (engine, sealer, clock)
        return open_database(load_config(data_dir=self.data))

    def import_files(self, files: list[Path]) -> list[str]:
        """`openrsp smdp profile import FILE...` (run in this process); the ICCIDs added."""
        run = openrsp_in_process("smdp", "profile", "import", "--data", str(self.data), *map(str, files))
        assert run.returncode == 0, f"openrsp smdp profile import failed:\n{run.stderr}"
        return run.stdout.split()

    def remove(self, *iccids: str) -> None:
        """`openrsp smdp profile remove ICCID...` (run in this process), while the server runs."""
        run = openrsp_in_process("smdp", "profile", "remove", "--data", str(self.data), *iccids)
        assert run.returncode == 0, f"openrsp smdp profile remove failed:\n{run.stderr}"

    def generate(self, *, spn: str = "openrsp test", name: str = "LPA e2e") -> str:
        iccid = unique_iccid()
        database = self._database()
        try:
            imsi = f"00101{int(iccid[-10:]):010d}"
            rows = [{"iccid": iccid, "imsi": imsi, "spn": spn, "profile_name": name}]
            [sub] = generate_profiles(database, subscriptions_from_rows(rows), operator="default")
        finally:
            database.engine.dispose()
        return sub.iccid

    def order(
        self, iccid: str, *, cc: str | None = None, eid: str | None = None, matching_id: str | None = None
    ) -> str:
        """downloadOrder + confirmOrder (released) over ES2+; the activation code."""
        self.es2_call("downloadOrder", iccid=iccid, eid=eid)
        confirmed = self.es2_call(
            "confirmOrder",
            iccid=iccid,
            eid=eid,
            matchingId=matching_id,
            confirmationCode=cc,
            releaseFlag=True,
        )
        code = f"LPA:1${confirmed['smdpAddress']}${confirmed.get('matchingId') or ''}"
        return code + "$$1" if cc else code

    def state(self, iccid: str) -> str:
        return self.es2_call("profileStatus", iccid=iccid)["state"]


# Fixtures carry a `name` so that test modules import them without shadowing (ruff F811).
@pytest.fixture(scope="session", name="pki")
def pki_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lpa-e2e") / "pki"
    init_pki(directory)
    return directory


@pytest.fixture(scope="module", name="smdp")
def smdp_fixture(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smdp]:
    server = Smdp(pki, tmp_path_factory.mktemp("smdp") / "data").start()
    try:
        yield server
    finally:
        server.stop()


# --- the eUICC and the LPA --------------------------------------------------------------------------------


@pytest.fixture(name="euicc")
def euicc_fixture(pki: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "euicc"
    create_euicc(directory, pki=pki)
    return directory


def installed_iccids(directory: Path) -> list[str]:
    """What the eUICC's own state file says is installed (read behind the LPA's back)."""
    return [p.iccid for p in read_state(directory).profiles]


def pending_notifications(directory: Path) -> list[tuple[int, str]]:
    return [(n.seq_number, n.event) for n in read_state(directory).notifications]


@dataclass
class LpaRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def payload(self) -> dict[str, Any]:
        """The lpac-shaped object a --json run printed (exactly one line of JSON)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one JSON line, got:\n{self.stdout}\nstderr:\n{self.stderr}"
        document = json.loads(lines[0])
        assert document["type"] == "lpa"
        return document["payload"]

    @property
    def data(self) -> Any:
        payload = self.payload
        assert payload["code"] == 0, payload
        return payload["data"]


def lpa(*args: str, card: list[str], stdin: str | None = None, timeout: float = TIMEOUT) -> LpaRun:
    """`openrsp lpa CARD... --resolve ... ARGS...` as a user runs it."""
    result = subprocess.run(
        [str(OPENRSP), "lpa", *card, "--resolve", RESOLVE, *args],
        input=stdin if stdin is not None else "", capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return LpaRun(result.returncode, result.stdout, result.stderr)


_app: Any = None


def openrsp_in_process(*args: str) -> LpaRun:
    """`openrsp ARGS...`, run in this process (Click's test runner): for the long TS.48 series,
    where starting Python and importing openrsp would cost more than the work itself."""
    global _app
    if _app is None:
        from openrsp.cli import main

        main._mount()
        _app = main.app
    from typer.testing import CliRunner

    result = CliRunner().invoke(_app, list(args), input="")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return LpaRun(result.exit_code, result.stdout, result.stderr)


def lpa_in_process(*args: str, card: list[str]) -> LpaRun:
    """`openrsp lpa CARD... --resolve ... ARGS...`, run in this process."""
    return openrsp_in_process("lpa", *card, "--resolve", RESOLVE, *args)


def lpa_ok(*args: str, card: list[str], stdin: str | None = None) -> LpaRun:
    run = lpa(*args, card=card, stdin=stdin)
    assert run.returncode == 0, f"openrsp lpa {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run
