"""SGP.22 conformance cases against a running `openrsp smdp serve`, on SQLite and PostgreSQL:
download retries with the same one-time key (also across a restart), profile policy rules, the
default SM-DP+ without an order, operator-chosen matchingIds, and an icon in the metadata.

Profiles go in with the CLI (`openrsp smdp profile import --ppr … --icon …`), orders over ES2+
with the operator's TLS client certificate, and a software eUICC drives ES9+ over HTTPS.
"""

from __future__ import annotations

import io
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from es9_harness import (
    TS48_PROFILE,
    SoftEuicc,
    authenticate,
    b64,
    codes,
    download,
    get_bpp,
    initiate,
    ok,
    over_https,
    unb64,
)
from PIL import Image
from smdp_support import (
    ES_HEADERS,
    OPENRSP,
    SMDP_HOST,
    SmdpServer,
    create_database,
    drop_database,
    es2_body,
    start_server,
    status_of,
)

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import CancelSessionReason, PprId, bits_set
from openrsp.es8.segments import parse_initialise_secure_channel, split_bpp
from openrsp.pki.credentials import SmdpCredentials
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.models import Order
from openrsp.smdp.db.profiles import get_profile


@dataclass
class Site:
    """One SM-DP+ data folder and database, and the server running on it (restartable)."""

    pki: Path
    data: Path
    db_url: str | None
    operator_cert: tuple[Path, Path]
    server: SmdpServer | None = None

    @property
    def db_args(self) -> list[str]:
        return ["--db", self.db_url] if self.db_url else []

    def start(self) -> None:
        self.server = start_server(self.pki, self.data, *self.db_args)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(OPENRSP), *args, "--data", str(self.data), *self.db_args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def import_(self, package: Path, *options: str) -> str:
        run = self.cli("smdp", "profile", "import", str(package), *options)
        assert run.returncode == 0, run.stderr
        return run.stdout.split()[0]

    def es2(self, function: str, **fields: Any) -> dict[str, Any]:
        assert self.server is not None
        response = self.server.post(
            f"/gsma/rsp2/es2plus/{function}",
            cert=self.operator_cert,
            json=es2_body(**fields),
            headers=ES_HEADERS,
        )
        assert status_of(response) == {"status": "Executed-Success"}, response.text
        return response.json()

    def release(self, iccid: str, **confirm: Any) -> str:
        """downloadOrder + confirmOrder (released) over ES2+; the matchingId."""
        eid = confirm.get("eid")
        self.es2("downloadOrder", iccid=iccid, **({"eid": eid} if eid else {}))
        return self.es2("confirmOrder", iccid=iccid, releaseFlag=True, **confirm)["matchingId"]

    def es9(self) -> Any:
        assert self.server is not None
        return self.server.client()

    def read(self, iccid: str) -> tuple[str, Order | None]:
        """The profile's state and order row, read from the database behind the server's back."""
        database = open_database(load_config(data_dir=self.data, db_url=self.db_url))
        try:
            with database.transaction() as connection:
                profile = get_profile(connection, iccid)
                assert profile is not None
                return profile.state, profile.order
        finally:
            database.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, pki_dir: Path, operator_cert, tmp_path: Path) -> Iterator[Site]:
    db_url = create_database("openrsp_conf") if request.param == "postgresql" else None
    site = Site(pki_dir, tmp_path / "smdp", db_url, operator_cert)
    site.data.mkdir()
    try:
        yield site
    finally:
        site.stop()
        if db_url:
            drop_database(db_url)


def _smdp_otpk(bpp: bytes) -> bytes:
    """otPK.DP.ECKA the package's InitialiseSecureChannel carries."""
    return parse_initialise_secure_channel(split_bpp(bpp).initialise_secure_channel).smdp_otpk


def _cancel(call, euicc: SoftEuicc, transaction_id: str, reason: int, oid: str) -> None:
    cancel = euicc.cancel_session(reason, oid)
    ok(call("cancelSession", {"transactionId": transaction_id, "cancelSessionResponse": b64(cancel)}))


def test_a_retry_after_postponed_reuses_the_one_time_keys_across_a_restart(site, pki_dir, ts48_dir):
    package = ts48_dir / TS48_PROFILE
    iccid = site.import_(package)
    site.start()
    matching_id = site.release(iccid)
    oid = SmdpCredentials.load(pki_dir).oid
    euicc = SoftEuicc.load(pki_dir, "nist")
    with site.es9() as http:
        call = over_https(http, SMDP_HOST)
        first = download(call, euicc, SMDP_HOST, matching_id)
        assert euicc.kept["bppEuiccOtpk"] is None  # a first attempt: nothing to offer back
        first_euicc_otpk, first_dp_otpk = euicc.otpk, _smdp_otpk(first.package)
        first_ppk = euicc.open_package(first.package).ppk
        _cancel(call, euicc, first.transaction_id, CancelSessionReason.postponed, oid)
    state, order = site.read(iccid)
    assert state == "Released" and order is not None and order.retry_binding is not None
    # kept sealed: the profile protection keys are not in the row in clear
    assert first_ppk is not None and first_ppk.s_enc.hex() not in str(order.retry_binding).lower()

    site.restart()  # the binding lives in the database, not in the process
    with site.es9() as http:
        call = over_https(http, SMDP_HOST)
        second = download(call, euicc, SMDP_HOST, matching_id)
        # smdpSigned2 offered the earlier otPK.EUICC, the eUICC reused it, the SM-DP+ its otPK.DP
        assert euicc.kept["bppEuiccOtpk"] == first_euicc_otpk and euicc.otpk == first_euicc_otpk
        assert _smdp_otpk(second.package) == first_dp_otpk
        opened = euicc.open_package(second.package)
        assert opened.profile == package.read_bytes() and opened.ppk == first_ppk
        assert opened.transaction_id.hex().upper() == second.transaction_id

        # the load broke off with no cancelSession at all (lost connectivity); this time the eUICC
        # has a new one-time key: the SM-DP+ binds anew
        init = ok(initiate(call, euicc, SMDP_HOST))
        auth = ok(authenticate(call, euicc, init, matching_id))
        third = unb64(ok(get_bpp(call, euicc, auth, new_otpk=True))["boundProfilePackage"])
        assert euicc.kept["bppEuiccOtpk"] == first_euicc_otpk and euicc.otpk != first_euicc_otpk
        assert _smdp_otpk(third) != first_dp_otpk
        assert euicc.open_package(third).profile == package.read_bytes()

        # and the next retry offers the newest key
        fourth = download(call, euicc, SMDP_HOST, matching_id)
        assert euicc.kept["bppEuiccOtpk"] == euicc.otpk and _smdp_otpk(fourth.package) == _smdp_otpk(third)
        result = euicc.install_result(iccid, SMDP_HOST, oid)
        ok(call("handleNotification", {"pendingNotification": b64(result)}))
    state, order = site.read(iccid)
    assert state == "Installed" and order is not None
    assert order.retry_binding is None  # installed: the keys must not serve again
    assert order.download_attempts == 4


def test_a_final_cancel_forgets_the_binding(site, pki_dir, ts48_dir):
    iccid = site.import_(ts48_dir / TS48_PROFILE)
    site.start()
    matching_id = site.release(iccid)
    euicc = SoftEuicc.load(pki_dir, "nist")
    with site.es9() as http:
        call = over_https(http, SMDP_HOST)
        run = download(call, euicc, SMDP_HOST, matching_id)
        reason = CancelSessionReason.loadBppExecutionError
        _cancel(call, euicc, run.transaction_id, reason, SmdpCredentials.load(pki_dir).oid)
    state, order = site.read(iccid)
    assert state == "Error" and order is not None and order.retry_binding is None


def test_a_ppr1_profile_is_refused_to_an_euicc_that_forbids_ppr1(site, pki_dir, ts48_dir):
    package = ts48_dir / TS48_PROFILE
    iccid = site.import_(package, "--ppr", "ppr1")
    site.start()
    matching_id = site.release(iccid)
    forbidding = SoftEuicc.load(pki_dir, "nist")
    forbidding.forbidden_pprs = (PprId.PPR1,)
    allowing = SoftEuicc.load(pki_dir, "nist")
    allowing.forbidden_pprs = (PprId.PPR2,)  # forbids another rule only
    with site.es9() as http:
        call = over_https(http, SMDP_HOST)
        refused = download(call, forbidding, SMDP_HOST, matching_id)
        assert codes(refused.authenticate) == ("8.2.5", "4.3")
        assert site.read(iccid)[0] == "Released"  # the order waits for an eligible eUICC

        run = download(call, allowing, SMDP_HOST, matching_id)
        metadata = rsp().decode("StoreMetadataRequest", unb64(ok(run.authenticate)["profileMetadata"]))
        assert bits_set(metadata["profilePolicyRules"]) == {PprId.PPR1}
        assert metadata["profileOwner"]["mccMnc"]  # the RAT is checked against the owner
        opened = allowing.open_package(run.package)
        assert rsp().decode("StoreMetadataRequest", opened.store_metadata) == metadata
    assert site.read(iccid)[0] == "Downloaded"


def test_default_smdp_without_an_order_for_this_eid(site, pki_dir, ts48_dir):
    iccid = site.import_(ts48_dir / TS48_PROFILE)
    site.start()
    site.release(iccid)  # an activation-code order, for no EID in particular
    euicc = SoftEuicc.load(pki_dir, "nist")
    with site.es9() as http:
        call = over_https(http, SMDP_HOST)
        for matching_id in ("", None):  # empty and omitted
            assert codes(download(call, euicc, SMDP_HOST, matching_id).authenticate) == ("8.1.1", "3.8")
    assert site.read(iccid)[0] == "Released"


def test_an_operator_matching_id_with_underscores_from_confirm_order_to_download(site, pki_dir, ts48_dir):
    package = ts48_dir / TS48_PROFILE
    iccid = site.import_(package)
    site.start()
    assert site.release(iccid, matchingId="AC_NO_CC") == "AC_NO_CC"
    euicc = SoftEuicc.load(pki_dir, "nist")
    with site.es9() as http:
        call = over_https(http, SMDP_HOST)
        # lookups are exact and case-sensitive
        assert codes(download(call, euicc, SMDP_HOST, "ac_no_cc").authenticate) == ("8.2.6", "3.8")
        run = download(call, euicc, SMDP_HOST, "AC_NO_CC")
        assert euicc.open_package(run.package).profile == package.read_bytes()
    assert site.read(iccid)[0] == "Downloaded"


def _png_icon(path: Path, low: int = 900, high: int = 1024) -> bytes:
    """A real PNG of noise between `low` and `high` bytes (noise does not compress)."""
    rng = random.Random(15)
    for side in range(14, 20):
        image = Image.frombytes(
            "RGB", (side, side), bytes(rng.randrange(256) for _ in range(side * side * 3))
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        if low <= len(buffer.getvalue()) <= high:
            path.write_bytes(buffer.getvalue())
            return buffer.getvalue()
    raise AssertionError("no noise PNG of the wanted size")


def test_an_icon_goes_into_the_metadata_split_over_several_segments(site, pki_dir, ts48_dir, tmp_path):
    icon = _png_icon(tmp_path / "icon.png")
    (tmp_path / "big.png").write_bytes(icon + bytes(200))
    (tmp_path / "icon.gif").write_bytes(b"GIF89a" + bytes(100))
    refused = (
        (["--icon", str(tmp_path / "big.png")], "at most 1024 bytes"),
        (["--icon", str(tmp_path / "icon.gif")], "PNG or JPEG"),
        (["--ppr", "ppr1,ppr3"], "unknown profile policy rule 'ppr3'"),
    )
    for options, words in refused:
        run = site.cli("smdp", "profile", "import", str(ts48_dir / TS48_PROFILE), *options)
        assert run.returncode != 0 and words in run.stderr and "Traceback" not in run.stderr
    package = ts48_dir / TS48_PROFILE
    iccid = site.import_(package, "--icon", str(tmp_path / "icon.png"))
    site.start()
    matching_id = site.release(iccid)
    euicc = SoftEuicc.load(pki_dir, "nist")
    with site.es9() as http:
        run = download(over_https(http, SMDP_HOST), euicc, SMDP_HOST, matching_id)
    metadata = rsp().decode("StoreMetadataRequest", unb64(ok(run.authenticate)["profileMetadata"]))
    assert (metadata["iconType"], metadata["icon"]) == (1, icon)  # png
    # too long for one segment: StoreMetadata is split over several '88' segments (SGP.22 §2.5.5)
    assert len(split_bpp(run.package).store_metadata) >= 2
    assert euicc.open_package(run.package).store_metadata == unb64(ok(run.authenticate)["profileMetadata"])
