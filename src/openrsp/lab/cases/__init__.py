"""The lab's cases: for each, what the server does (orders through the real SM-DP+'s ES2+, faults
around it), what the DUT is asked to do, and how the outcome is judged from the ES9+ exchange and,
with a virtual card, from the card itself.

SGP.22 notes behind the expectations:
- An ES9+ refusal (authenticateClient or getBoundProfilePackage answered Failed) ends the session on
  the SM-DP+; the LPA must show it and stop, never start a new session on its own.
- When the eUICC refuses AuthenticateServer (a DPauth from another CI, a bad serverSignature1) it
  holds no session to cancel: the LPA reports the refusal to the SM-DP+ by passing the eUICC's
  AuthenticateServerResponse (authenticateResponseError + code) in authenticateClient, and stops.
- A serverSigned1 naming another SM-DP+ address must not lead to a session: whether the LPA sees it
  (before AuthenticateServer) or the eUICC does, no euiccSigned1 over that address reaches an SM-DP+.
- After a transport failure during getBoundProfilePackage the session is cancelled (ES10b + ES9+
  CancelSession) or the same request retried; a new attempt then installs the profile.
- A profile whose PPRs the eUICC's RAT does not allow is refused by the LPA before consent, with
  ES10b + ES9+ CancelSession reason pprNotAllowed (§3.1.3.2); the SM-DP+ then ends the order.
- Discovery: the LPA asks its root SM-DS (ES11 without a matchingId) and downloads with the eventId
  as matchingId; the order's end makes the SM-DP+ delete the event (ES12).
"""

from __future__ import annotations

import fnmatch

from openrsp.lab.cases.auth import judge_euicc_refusal, judge_wrong_address, resign, tls
from openrsp.lab.cases.discovery import judge_discovery, smds_discovery
from openrsp.lab.cases.download import (
    default_smdp,
    judge_default,
    judge_nominal,
    judge_too_many_wrong,
    judge_with_code,
    judge_wrong_then_right,
    nominal,
    too_many_wrong,
    with_code,
    wrong_then_right,
)
from openrsp.lab.cases.lifecycle import judge_lifecycle, lifecycle
from openrsp.lab.cases.network import judge_unreliable, unreliable
from openrsp.lab.cases.policy import judge_ppr_not_allowed, ppr_not_allowed
from openrsp.lab.cases.refusal import judge_refusal, refusal
from openrsp.lab.model import ADDED, ERROR_SHOWN, SCREEN_CHOICES, Case, Question

SCREEN = "What did the device's screen say at the end?"
ADDED_Q = Question(SCREEN, SCREEN_CHOICES, (ADDED,))
REFUSED_Q = Question(SCREEN, SCREEN_CHOICES, (ERROR_SHOWN,))

untrusted = tls("tls-untrusted")
wrong_host = tls("tls-wrong-host")

CASES: tuple[Case, ...] = (
    Case("download.nominal", "Nominal download with an activation code",
         "ES9+ calls in order; profile installed; install notification delivered; order Installed",
         nominal, judge_nominal, ADDED_Q, group="download"),
    Case("download.confirmation-code", "Download with a confirmation code",
         "the code is asked for and sent as hashCc; profile installed",
         with_code, judge_with_code, ADDED_Q, group="download"),
    Case("download.confirmation-code-retry", "Wrong confirmation code, then the right one",
         "the wrong code is refused (8.2.7/3.8) and shown; a new attempt with the right code installs",
         wrong_then_right, judge_wrong_then_right, ADDED_Q, group="download"),
    Case("download.confirmation-code-exhausted", "Too many wrong confirmation codes",
         "after the allowed attempts the SM-DP+ refuses (6.4); the LPA shows it and stops",
         too_many_wrong, judge_too_many_wrong, REFUSED_Q, group="download"),
    Case("download.default-smdp", "Download from the eUICC's default SM-DP+",
         "no activation code: the LPA asks the default SM-DP+ with an empty matchingId; installed",
         default_smdp, judge_default, ADDED_Q, needs=frozenset({"default"}), group="download"),
    Case("refusal.not-released", "Order not released",
         "authenticateClient refused 8.2/1.2; shown to the user; no retry; nothing installed",
         refusal("not-released"), judge_refusal("8.2/1.2"), REFUSED_Q, group="refusal"),
    Case("refusal.expired", "Order expired",
         "authenticateClient refused 8.8.5/4.10; shown; no retry; nothing installed",
         refusal("expired"), judge_refusal("8.8.5/4.10"), REFUSED_Q, group="refusal"),
    Case("refusal.eid-mismatch", "Order for another EID",
         "authenticateClient refused 8.1.1/3.8; shown; no retry; nothing installed",
         refusal("eid-mismatch"), judge_refusal("8.1.1/3.8"), REFUSED_Q, group="refusal"),
    Case("refusal.no-eligible-profile", "No order for this activation code",
         "authenticateClient refused 8.2.6/3.8; shown; no retry; nothing installed",
         refusal("no-eligible-profile"), judge_refusal("8.2.6/3.8"), REFUSED_Q, group="refusal"),
    Case("auth.dpauth-other-ci", "serverSigned1 signed by a DPauth of another CI",
         "the eUICC refuses (invalidCertificate/ciPKUnknown); the LPA reports it in authenticateClient and stops",
         resign("other-ci"), judge_euicc_refusal(("invalidCertificate", "ciPKUnknown")), REFUSED_Q, group="auth"),
    Case("auth.bad-signature", "serverSignature1 does not verify",
         "the eUICC refuses (invalidSignature); the LPA reports it in authenticateClient and stops",
         resign("bad-signature"), judge_euicc_refusal(("invalidSignature",)), REFUSED_Q, group="auth"),
    Case("auth.wrong-server-address", "serverSigned1 names another SM-DP+ address",
         "no session goes on: no euiccSigned1 over that address reaches the SM-DP+; nothing installed",
         resign("wrong-address"), judge_wrong_address, REFUSED_Q, group="auth"),
    Case("tls.untrusted-certificate", "TLS certificate that does not chain to a trusted CI",
         "the LPA does not talk to that server: no ES9+ request at all",
         untrusted[0], untrusted[1], REFUSED_Q, group="tls"),
    Case("tls.wrong-host", "TLS certificate from the right CI naming another host",
         "the LPA does not talk to that server: no ES9+ request at all",
         wrong_host[0], wrong_host[1], REFUSED_Q, group="tls"),
    Case("network.cut-during-bpp", "Connection cut during getBoundProfilePackage",
         "the session is cancelled cleanly (or the request retried); a new attempt installs the profile",
         unreliable("cut"), judge_unreliable, ADDED_Q, group="network"),
    Case("network.slow-server", "Slow SM-DP+ (answers delayed)",
         "the LPA waits, or cancels cleanly and a new attempt installs the profile",
         unreliable("slow"), judge_unreliable, ADDED_Q, group="network"),
    Case("notifications.lifecycle", "Install, enable, disable, delete: every notification arrives",
         "four notifications delivered to the SM-DP+, each accepted (signature verified); nothing left pending",
         lifecycle(False), judge_lifecycle, None, needs=frozenset({"manage"}), group="notifications"),
    Case("ts48.install-enable-remove", "TS.48 test profile installed, enabled, then removed",
         "the TS.48 profile installs and enables; removed again, the device is left as it was",
         lifecycle(True), judge_lifecycle, None, needs=frozenset({"manage"}), group="ts48"),
    Case("discovery.smds", "Profile discovery through the SM-DS",
         "the LPA asks its root SM-DS (ES11), downloads the event from the SM-DP+ it names with the eventId "
         "as matchingId; installed; the event deleted afterwards",
         smds_discovery, judge_discovery, ADDED_Q, needs=frozenset({"discover"}), group="discovery"),
    Case("policy.ppr-not-allowed", "Profile with PPRs the device's RAT does not allow",
         "the SM-DP+ offers a PPR1 profile the RAT does not allow: the LPA refuses before consent, "
         "cancelSession reason pprNotAllowed; nothing installed",
         ppr_not_allowed, judge_ppr_not_allowed, REFUSED_Q, group="policy"),
)  # fmt: skip


def select(pattern: str | None) -> list[Case]:
    """Cases whose id matches any comma-separated glob of `pattern` (all when None)."""
    if not pattern:
        return list(CASES)
    globs = [g.strip() for g in pattern.split(",") if g.strip()]
    return [c for c in CASES if any(fnmatch.fnmatch(c.id, g) or c.id.startswith(g + ".") for g in globs)]
