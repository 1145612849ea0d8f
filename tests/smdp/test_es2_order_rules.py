"""ES2+ order rules through a running `openrsp smdp serve` (SQLite and PostgreSQL): the EID of an order
bound to one in CancelOrder and ReleaseProfile, the attempt limits set in ConfirmOrder and enforced on
ES9+, and out-of-range values refused as malformed requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import httpx
import pytest
from es9_harness import SoftEuicc, authenticate, codes, download, get_bpp, initiate, ok, over_https
from smdp_support import (
    ES_HEADERS,
    SMDP_HOST,
    SmdpServer,
    codes_of,
    create_database,
    drop_database,
    es2_body,
    start_server,
    status_of,
)

from openrsp.pki.eid import make_eid
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.inventory import generate_profiles, subscriptions_from_rows

OTHER_EID = make_eid("89001012", 4242)
PROFILES = 10
pytestmark = pytest.mark.xdist_group("order-rules")  # one server pair for the module, on one worker


@dataclass
class Rules:
    server: SmdpServer
    iccids: list[str]
    operator: tuple[Path, Path]
    euicc: SoftEuicc
    data: Path
    db_url: str | None
    _next: Iterator[int] = field(default_factory=count)

    def fresh(self) -> str:
        return self.iccids[next(self._next)]

    def es2(self, function: str, **fields) -> httpx.Response:
        response = self.server.post(
            f"/gsma/rsp2/es2plus/{function}", cert=self.operator, json=es2_body(**fields), headers=ES_HEADERS
        )
        assert response.status_code == 200 and "Traceback" not in response.text
        return response

    def ok(self, function: str, **fields) -> dict:
        response = self.es2(function, **fields)
        assert status_of(response) == {"status": "Executed-Success"}, response.text
        return response.json()

    def status(self, iccid: str) -> dict:
        response = self.server.post(
            "/openrsp/es2plus/profileStatus",
            cert=self.operator,
            json=es2_body(iccid=iccid),
            headers=ES_HEADERS,
        )
        return response.json()

    def released(self, iccid: str, **confirm) -> str:
        self.ok("downloadOrder", iccid=iccid)
        return self.ok("confirmOrder", iccid=iccid, releaseFlag=True, **confirm)["matchingId"]


def _serve(backend: str, pki_dir: Path, tmp_path_factory) -> Iterator[Rules]:
    base = tmp_path_factory.mktemp(f"order-rules-{backend}")
    db_url = create_database("openrsp_rules") if backend == "postgresql" else None
    database = open_database(load_config(data_dir=base / "data", db_url=db_url))
    rows = [
        {"iccid": f"899901{index:02d}0000012345", "imsi": f"0010100000{index:05d}"}
        for index in range(PROFILES)
    ]
    subs = generate_profiles(
        database, subscriptions_from_rows(rows, append_check_digit=True), operator="default"
    )
    database.engine.dispose()
    server = start_server(pki_dir, base / "data", *(["--db", db_url] if db_url else []))
    operator = (pki_dir / "operator-tls" / "client.cert.pem", pki_dir / "operator-tls" / "client.key.pem")
    try:
        yield Rules(
            server, [s.iccid for s in subs], operator, SoftEuicc.load(pki_dir, "nist"), base / "data", db_url
        )
    finally:
        server.stop()
        if db_url:
            drop_database(db_url)


@pytest.fixture(scope="module")
def rules_sqlite(pki_dir, tmp_path_factory) -> Iterator[Rules]:
    yield from _serve("sqlite", pki_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def rules_postgresql(pki_dir, tmp_path_factory) -> Iterator[Rules]:
    yield from _serve("postgresql", pki_dir, tmp_path_factory)


@pytest.fixture(params=["sqlite", "postgresql"])
def rules(request) -> Rules:
    return request.getfixturevalue(f"rules_{request.param}")


def _es9(rules: Rules):
    http = rules.server.client()
    return http, over_https(http, SMDP_HOST)


# --- the EID of an order bound to one ---------------------------------------------------------------------


def test_cancel_order_of_an_eid_bound_order_needs_that_eid(rules):
    iccid = rules.fresh()
    eid = rules.euicc.eid
    rules.ok("downloadOrder", iccid=iccid, eid=eid)
    rules.ok("confirmOrder", iccid=iccid, releaseFlag=True)
    cancel = {"iccid": iccid, "finalProfileStatusIndicator": "Available"}
    assert codes_of(rules.es2("cancelOrder", **cancel)) == ("8.1.1", "2.2")  # eid missing
    assert codes_of(rules.es2("cancelOrder", **cancel, eid=OTHER_EID)) == ("8.1.1", "3.10")
    assert codes_of(rules.es2("cancelOrder", **cancel, eid="1234")) == ("8.1.1", "2.1")
    assert rules.status(iccid)["state"] == "Released"  # nothing happened
    rules.ok("cancelOrder", **cancel, eid=eid)
    assert rules.status(iccid)["state"] == "Available"


def test_cancel_order_without_an_eid_binding_needs_none(rules):
    iccid = rules.fresh()
    rules.released(iccid)
    rules.ok("cancelOrder", iccid=iccid, finalProfileStatusIndicator="Unavailable")
    assert rules.status(iccid)["state"] == "Unavailable"


def test_release_profile_checks_an_eid_it_is_given(rules):
    iccid = rules.fresh()
    eid = rules.euicc.eid
    rules.ok("downloadOrder", iccid=iccid, eid=eid)
    rules.ok("confirmOrder", iccid=iccid, releaseFlag=False)
    assert codes_of(rules.es2("releaseProfile", iccid=iccid, eid=OTHER_EID)) == ("8.1.1", "3.10")
    assert rules.status(iccid)["state"] == "Confirmed"
    rules.ok("releaseProfile", iccid=iccid, eid=eid)
    assert rules.status(iccid)["state"] == "Released"


# --- attempt limits set in ConfirmOrder, enforced on ES9+ ----------------------------------------------------


def test_max_download_attempts_from_confirm_order_locks_the_order(rules):
    iccid = rules.fresh()
    matching_id = rules.released(iccid, maxDownloadAttempts=2)
    assert rules.status(iccid)["maxDownloadAttempts"] == 2
    http, call = _es9(rules)
    with http:
        for _ in range(2):  # the first download and one retry (the default would allow 5)
            run = download(call, rules.euicc, SMDP_HOST, matching_id)
            ok(run.bpp)
        third = download(call, rules.euicc, SMDP_HOST, matching_id)
        assert codes(third.authenticate) == ("8.8.5", "6.4")
    after = rules.status(iccid)
    assert (after["downloadAttempts"], after["state"]) == (2, "Error")


def test_max_confirmation_code_attempts_from_confirm_order(rules):
    iccid = rules.fresh()
    matching_id = rules.released(iccid, confirmationCode="1357", maxConfirmationCodeAttempts=1)
    http, call = _es9(rules)
    with http:
        init = ok(initiate(call, rules.euicc, SMDP_HOST))
        auth = ok(authenticate(call, rules.euicc, init, matching_id))
        assert codes(get_bpp(call, rules.euicc, auth, "9999")) == ("8.2.7", "6.4")  # one wrong code: locked
        again = download(call, rules.euicc, SMDP_HOST, matching_id, code="1357")
        assert codes(again.authenticate) == ("8.8.5", "6.4")
    assert rules.status(iccid)["ccAttempts"] == 1


@pytest.mark.parametrize("name", ["maxDownloadAttempts", "maxConfirmationCodeAttempts"])
@pytest.mark.parametrize("value", [2**63, 2**31, -1, 0, "3", True, 1.5])
def test_out_of_range_limits_are_a_protocol_format_error(rules, name, value):
    iccid = rules.iccids[-1]  # the same profile for every value: each refusal leaves it untouched
    if rules.status(iccid)["state"] == "Available":
        rules.ok("downloadOrder", iccid=iccid)
    answer = rules.es2("confirmOrder", iccid=iccid, releaseFlag=True, **{name: value})
    assert codes_of(answer) == ("1.3.1", "2.1")
    assert name in status_of(answer)["statusCodeData"]["message"]
    assert rules.status(iccid)["state"] == "Allocated"


# --- the commands -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rules", ["sqlite"], indirect=True)  # the command is the same on any database
def test_admin_and_operator_commands_set_and_name_them(rules, cli, pki_dir):
    iccid = rules.fresh()
    admin = ["smdp", "admin", "--data", str(rules.data), "--address", SMDP_HOST]
    cli(*admin, "order", "--iccid", iccid, "--eid", rules.euicc.eid, check=True)
    cli(*admin, "confirm", "--iccid", iccid, "--max-download-attempts", "3", "--no-release", check=True)
    assert rules.status(iccid)["maxDownloadAttempts"] == 3
    huge = cli(*admin, "confirm", "--iccid", rules.fresh(), "--max-download-attempts", str(2**63))
    assert huge.returncode == 1 and "1.3.1/2.1" in huge.stderr and "Traceback" not in huge.stderr

    operator = [
        "operator", "--smdp", rules.server.url, "--ca", str(pki_dir / "nist" / "ci.cert.pem"),
        "--tls-name", SMDP_HOST, "--client-cert", str(rules.operator[0]), "--client-key", str(rules.operator[1]),
    ]  # fmt: skip
    refused = cli(*operator, "cancel", "--iccid", iccid)
    assert refused.returncode == 1 and "8.1.1/2.2" in refused.stderr
    cli(*operator, "cancel", "--iccid", iccid, "--eid", rules.euicc.eid, check=True)
    assert rules.status(iccid)["state"] == "Available"
