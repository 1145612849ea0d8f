"""The whole ES9+ flow over real HTTPS against `openrsp smdp serve`, as an LPA drives it.

The profile is imported and ordered with the CLI, the software eUICC answers with the key of the
test PKI (or of the GSMA SGP.26 set), and the bound profile package opens back to the exact bytes
of the TS.48 package that went in. SQLite and PostgreSQL both serve.
"""

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from es9_harness import (
    ES9_HEADERS,
    TS48_PROFILE,
    SoftEuicc,
    b64,
    codes,
    download,
    ok,
    over_https,
    serve,
)
from smdp_support import SMDP_HOST, create_database, drop_database
from sqlalchemy.engine import make_url

from openrsp.pki.credentials import SmdpCredentials
from openrsp.pki.eid import make_eid
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db import transactions
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.inventory import import_packages

SGP26_HOST = "testsmdpplus1.example.com"


@dataclass
class Inventory:
    """The SM-DP+'s data folder, worked on directly (as `openrsp smdp profile import` / `admin` do)."""

    data: Path
    address: str
    db_url: str | None = None

    def __post_init__(self) -> None:
        config = load_config(data_dir=self.data, db_url=self.db_url)
        # This test process takes no lock file either (SQLite's own busy wait orders it with the
        # server), so a writer lock file next to the database can only be the server's.
        transactions.sole_writer_process(config.db_url)
        self.database = open_database(config)
        self.es2 = Es2Service(self.database, operator=None, address=self.address)

    @property
    def db_args(self) -> tuple[str, ...]:
        return ("--db", self.db_url) if self.db_url else ()

    def released_order(self, package: Path, **confirm: object) -> tuple[str, str]:
        """Import the package, order and confirm it; (ICCID, matchingId)."""
        [iccid] = import_packages(self.database, [package], operator="default")
        self.es2.download_order({"iccid": iccid})
        answer = self.es2.confirm_order({"iccid": iccid, "releaseFlag": True, **confirm})
        return iccid, answer["matchingId"]

    def status(self, iccid: str) -> dict:
        return self.es2.profile_status({"iccid": iccid})

    def close(self) -> None:
        self.database.engine.dispose()


@pytest.fixture
def postgres_url():
    url = create_database("openrsp_es9")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.mark.parametrize(("curve", "database"), [("nist", "sqlite"), ("brp", "postgresql")])
def test_download_over_https_with_the_test_pki(curve, database, pki_dir, ts48_dir, tmp_path, request):
    db_url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    inventory = Inventory(tmp_path / "smdp", SMDP_HOST, db_url)
    package = ts48_dir / TS48_PROFILE
    iccid, matching_id = inventory.released_order(package, confirmationCode="2468")
    server = serve(pki_dir, inventory.data, pki_dir / "nist" / "ci.cert.pem", SMDP_HOST, *inventory.db_args)
    try:
        euicc = SoftEuicc.load(pki_dir, curve)
        with server.client() as http:
            call = over_https(http, SMDP_HOST)
            run = download(call, euicc, SMDP_HOST, matching_id, code="2468")
            assert euicc.open_package(run.package).profile == package.read_bytes()
            assert inventory.status(iccid)["state"] == "Downloaded"
            result = euicc.install_result(iccid, SMDP_HOST, SmdpCredentials.load(pki_dir).oid)
            ok(call("handleNotification", {"pendingNotification": b64(result)}))  # 204, no body
        after = inventory.status(iccid)
        assert (after["state"], after["eid"], after["downloadAttempts"]) == ("Installed", euicc.eid, 1)
        # One worker: no other process to queue with, so no writer lock file next to the database.
        assert not list(inventory.data.glob("*-writer.lock"))
    finally:
        server.stop()
        inventory.close()


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_download_over_https_with_the_sgp26_credentials(curve, sgp26_dir, ts48_dir, tmp_path):
    inventory = Inventory(tmp_path / "smdp", SGP26_HOST)
    package = ts48_dir / "TS48V1-A-UNIQUE.der"
    iccid, matching_id = inventory.released_order(package)
    euicc = SoftEuicc.load(sgp26_dir, curve)
    ci = sgp26_dir / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.pem"
    server = serve(sgp26_dir, inventory.data, ci, SGP26_HOST)
    try:
        with server.client() as http:
            run = download(over_https(http, SGP26_HOST), euicc, SGP26_HOST, matching_id)
            assert euicc.open_package(run.package).profile == package.read_bytes()
        assert inventory.status(iccid)["state"] == "Downloaded"
    finally:
        server.stop()
        inventory.close()


def test_refusals_and_malformed_requests_over_https(pki_dir, ts48_dir, tmp_path):
    inventory = Inventory(tmp_path / "smdp", SMDP_HOST)
    iccid, matching_id = inventory.released_order(ts48_dir / TS48_PROFILE, eid=make_eid("89001012", 99))
    server = serve(pki_dir, inventory.data, pki_dir / "nist" / "ci.cert.pem", SMDP_HOST)
    try:
        euicc = SoftEuicc.load(pki_dir, "nist")
        with server.client() as http:
            call = over_https(http, SMDP_HOST)
            assert codes(download(call, euicc, "smdp.other.test", matching_id).initiate) == ("8.8.1", "3.8")
            assert codes(download(call, euicc, SMDP_HOST, matching_id).authenticate) == ("8.1.1", "3.8")
            answers = [
                post(http, "initiateAuthentication", b"{not json"),
                post(http, "initiateAuthentication", b"{}", content_type="text/plain"),
                post(
                    http,
                    "initiateAuthentication",
                    {"euiccChallenge": "!!", "euiccInfo1": "AA==", "smdpAddress": SMDP_HOST},
                ),
                post(
                    http,
                    "authenticateClient",
                    {"transactionId": "00" * 16, "authenticateServerResponse": "vzgCoAA="},
                ),
                post(
                    http,
                    "getBoundProfilePackage",
                    {"transactionId": "nothex", "prepareDownloadResponse": "AA=="},
                ),
            ]
        for answer in answers:
            assert answer.status_code == 200 and "Traceback" not in answer.text
            failed = answer.json()["header"]["functionExecutionStatus"]
            assert failed["status"] == "Failed" and failed["statusCodeData"]["message"]
        assert inventory.status(iccid)["state"] == "Released"
    finally:
        server.stop()
        inventory.close()


def post(http: httpx.Client, function: str, body: dict | bytes, content_type: str = "application/json"):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = ES9_HEADERS | {"Content-Type": content_type}
    return http.post(
        f"/gsma/rsp2/es9plus/{function}",
        content=content,
        headers=headers,
        extensions={"sni_hostname": SMDP_HOST},
    )


def test_a_download_waits_off_the_loop_while_another_process_writes(pki_dir, ts48_dir, tmp_path):
    """One worker on SQLite writes ES9+ transactions on its event loop, which must never wait: with
    the file locked by another process, the call waits in the database thread, and the server
    keeps answering meanwhile."""
    inventory = Inventory(tmp_path / "smdp", SMDP_HOST)
    package = ts48_dir / TS48_PROFILE
    iccid, matching_id = inventory.released_order(package)
    database = make_url(load_config(data_dir=inventory.data).db_url).database
    server = serve(pki_dir, inventory.data, pki_dir / "nist" / "ci.cert.pem", SMDP_HOST)
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    try:
        euicc = SoftEuicc.load(pki_dir, "nist")
        with server.client() as http, server.client() as watcher, ThreadPoolExecutor(1) as pool:
            other.execute("BEGIN IMMEDIATE")  # another process writing
            running = pool.submit(download, over_https(http, SMDP_HOST), euicc, SMDP_HOST, matching_id)
            for _ in range(5):
                health = watcher.get("/openrsp/health", extensions={"sni_hostname": SMDP_HOST})
                assert health.status_code == 200
                time.sleep(0.1)
            assert not running.done()  # authenticateClient must write: it waits for the file
            other.rollback()
            run = running.result(timeout=60)
            assert euicc.open_package(run.package).profile == package.read_bytes()
        assert inventory.status(iccid)["state"] == "Downloaded"
    finally:
        other.close()
        server.stop()
        inventory.close()
