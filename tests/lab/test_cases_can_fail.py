"""Every available case passes with the project's LPA, and fails with a deliberately wrong one.

The wrong LPAs are the project's own LPA with one behaviour broken in this process (monkeypatch):
one that never sends notifications, one that retries refused downloads by itself, one that does not
tell the SM-DP+ what the eUICC refused, one that accepts a serverSigned1 for another address, one that
trusts any TLS certificate, one that never cancels a broken session, one that installs a profile
without checking its PPRs against the eUICC's RAT, one that never asks the SM-DS.
"""

from __future__ import annotations

import contextlib
import ssl
from pathlib import Path

import pytest

from openrsp.lab.cases import CASES, select
from openrsp.lab.model import Case, Verdict
from openrsp.lab.runner import run_case
from openrsp.lab.setup import Lab, make_dut
from openrsp.lpa.core import lpd
from openrsp.lpa.core.discovery import Discovery
from openrsp.lpa.core.errors import LpaError
from openrsp.lpa.core.notifications import NotificationSender
from openrsp.lpa.drivers.https import HttpsSettings
from openrsp.lpa.ui import actions

pytestmark = pytest.mark.xdist_group("lab-cases")
SLOW = 0.5


def _run(lab: Lab, case_id: str, ts48: Path, **dut_options: float):
    [case] = select(case_id)
    return run_case(case, make_dut("openrsp", lab, **dut_options), lab.server, lab.card, ts48=ts48,
                    slow_seconds=SLOW)  # fmt: skip


# --- the wrong LPAs ---------------------------------------------------------------------------------


def silent_about_notifications(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(NotificationSender, "process", lambda self, *a, **k: [])


def retries_by_itself(mp: pytest.MonkeyPatch) -> None:
    real = lpd.Download.run

    def run(self: lpd.Download) -> lpd.DownloadResult:
        for _ in range(2):  # a refused download tried again behind the user's back
            with contextlib.suppress(LpaError):
                return real(lpd.Download(self.es10, self.es9, self.request))
        return real(self)

    mp.setattr(lpd.Download, "run", run)


def hides_euicc_refusal(mp: pytest.MonkeyPatch) -> None:
    def authenticate_server(self: lpd.Download) -> None:
        init = self._init_auth
        response = self.es10.authenticate_server(
            server_signed1=init.server_signed1, server_signature1=init.server_signature1,
            euicc_ci_pkid_to_be_used=init.euicc_ci_pkid_to_be_used, server_certificate=init.server_certificate,
            ctx_params1=lpd.encode_ctx_params1(self.request.matching_id, self.request.device),
        )  # fmt: skip
        refused = self.es10.authenticate_server_error(response)
        if refused is not None:
            raise refused  # the SM-DP+ is never told
        self._auth_server_response = response
        self.euicc_in_session = True

    mp.setattr(lpd.Download, "_authenticate_server", authenticate_server)


def ignores_server_address(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(lpd.Download, "_check_server_signed1", lambda self, result: None)


def trusts_any_tls(mp: pytest.MonkeyPatch) -> None:
    def context(self: HttpsSettings) -> ssl.SSLContext:
        insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        return insecure

    mp.setattr(HttpsSettings, "ssl_context", context)


def never_cancels(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(lpd.Download, "_cancel_after", lambda self, error, reason: None)


def skips_the_rat_check(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(lpd.Download, "_check_policy_rules", lambda self: None)


def never_asks_the_smds(mp: pytest.MonkeyPatch) -> None:
    # "check for eSIMs" finds nothing without asking: the LPA goes to its default SM-DP+ (none set)
    mp.setattr(actions, "_discover", lambda session, smds, device: Discovery(smds or "", []))


BROKEN = {
    "download.nominal": (silent_about_notifications, {}),
    "download.confirmation-code": (silent_about_notifications, {}),
    "download.confirmation-code-retry": (silent_about_notifications, {}),
    "download.confirmation-code-exhausted": (retries_by_itself, {}),
    "download.default-smdp": (silent_about_notifications, {}),
    "refusal.not-released": (retries_by_itself, {}),
    "refusal.expired": (retries_by_itself, {}),
    "refusal.eid-mismatch": (retries_by_itself, {}),
    "refusal.no-eligible-profile": (retries_by_itself, {}),
    "auth.dpauth-other-ci": (hides_euicc_refusal, {}),
    "auth.bad-signature": (hides_euicc_refusal, {}),
    "auth.wrong-server-address": (ignores_server_address, {}),
    "tls.untrusted-certificate": (trusts_any_tls, {}),
    "tls.wrong-host": (trusts_any_tls, {}),
    "network.cut-during-bpp": (never_cancels, {}),
    "network.slow-server": (never_cancels, {"timeout": SLOW / 3}),
    "notifications.lifecycle": (silent_about_notifications, {}),
    "ts48.install-enable-remove": (silent_about_notifications, {}),
    "policy.ppr-not-allowed": (skips_the_rat_check, {}),
    "discovery.smds": (never_asks_the_smds, {}),
}
AVAILABLE = [c.id for c in CASES if c.available]


def test_every_available_case_has_a_wrong_lpa() -> None:
    assert sorted(BROKEN) == sorted(AVAILABLE)


@pytest.mark.parametrize("case_id", AVAILABLE)
def test_case_passes_with_the_project_lpa(lab: Lab, case_id: str, ts48_dir: Path) -> None:
    result = _run(lab, case_id, ts48_dir)
    assert result.verdict is Verdict.PASS, (result.happened, [e for e in result.exchange])


@pytest.mark.parametrize("case_id", AVAILABLE)
def test_case_fails_with_a_wrong_lpa(lab: Lab, case_id: str, ts48_dir: Path, monkeypatch) -> None:
    breaks, dut_options = BROKEN[case_id]
    breaks(monkeypatch)
    result = _run(lab, case_id, ts48_dir, **dut_options)
    assert result.verdict is Verdict.FAIL, (result.happened, result.reason)
    assert any(not c.ok for c in result.checks)


def test_every_case_is_available() -> None:
    assert [c.id for c in CASES if not c.available] == []


def test_a_case_the_platform_lacks_is_reported_not_run(lab: Lab, ts48_dir: Path) -> None:
    missing = Case("future.feature", "A feature to come", "-", unavailable="needs the feature")
    result = run_case(missing, make_dut("openrsp", lab), lab.server, lab.card, ts48=ts48_dir)
    assert result.verdict is Verdict.NOT_RUN and result.reason == "not available: needs the feature"


def test_the_labs_card_names_the_labs_smds_as_its_root(lab: Lab) -> None:
    from openrsp.euicc.store import read_state

    assert lab.server.smds_address() is not None
    assert read_state(lab.card.directory).root_smds == lab.server.smds_address()


def test_a_failed_discovery_leaves_no_event_for_the_next_case(lab: Lab, ts48_dir: Path, monkeypatch) -> None:
    with monkeypatch.context() as mp:
        never_asks_the_smds(mp)
        assert _run(lab, "discovery.smds", ts48_dir).verdict is Verdict.FAIL
    assert lab.server.smds is not None and len(lab.server.smds.events(lab.card.eid)) == 1  # left behind
    result = _run(lab, "discovery.smds", ts48_dir)  # the next run downloads its own event, not that one
    assert result.verdict is Verdict.PASS, result.happened
    assert lab.server.smds.events(lab.card.eid) == []
