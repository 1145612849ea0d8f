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
"""

from __future__ import annotations

import fnmatch
from datetime import timedelta
from pathlib import Path

from openrsp.errors import OpenRSPError
from openrsp.lab.context import CaseContext
from openrsp.lab.faults import CutOnce, ResignServerSigned1, Slow
from openrsp.lab.model import (
    ADDED,
    ERROR_SHOWN,
    SCREEN_CHOICES,
    Action,
    Case,
    Check,
    Prepared,
    Question,
    Step,
)

WRONG_CODE, RIGHT_CODE = "0000", "4711"
# The user did not refuse and the package did not fail to load: the session timed out or was put off.
NETWORK_REASONS = ("timeout", "postponed", "undefinedReason")
OTHER_EID = "89001012012341234012345678909878"
SCREEN = "What did the device's screen say at the end?"
ADDED_Q = Question(SCREEN, SCREEN_CHOICES, (ADDED,))
REFUSED_Q = Question(SCREEN, SCREEN_CHOICES, (ERROR_SHOWN,))


# --- checks shared by cases ------------------------------------------------------------------------


def _check(name: str, ok: bool, detail: str = "") -> Check:
    return Check(name, bool(ok), detail)


def dut_said(ctx: CaseContext, index: int, ok: bool) -> Check:
    outcome = ctx.outcomes[index] if index < len(ctx.outcomes) else None
    if outcome is None or outcome.skipped:
        return _check(f"step {index + 1}: the DUT ran it", False, "not performed")
    words = "succeeded" if outcome.ok else "reported a failure"
    return _check(f"step {index + 1}: the DUT {'succeeds' if ok else 'reports a failure'}", outcome.ok == ok,
                  f"{words}: {outcome.detail[:160]}")  # fmt: skip


def order_state(ctx: CaseContext, iccid: str, expected: str) -> Check:
    state = ctx.server.state(iccid)
    return _check(f"SM-DP+ order is {expected}", state == expected, f"it is {state}")


def installed_once(ctx: CaseContext, iccid: str) -> list[Check]:
    checks = []
    new = ctx.new_profiles()
    if new is not None:
        checks.append(
            _check("card: the profile is installed, once", new == [iccid], f"new on the card: {new}")
        )
        pending = ctx.pending_for(iccid) or []
        checks.append(_check("card: no notification left pending", not pending, f"pending: {pending}"))
    notes = [
        e for e in ctx.calls("handleNotification")
        if e.request.get("event") == "install" and e.request.get("iccid") == iccid
    ]  # fmt: skip
    ok = any(e.request.get("result") == "success" and e.status == "HTTP 204" for e in notes)
    checks.append(_check("install notification delivered and accepted", ok, f"{len(notes)} received"))
    return checks


def nothing_installed(ctx: CaseContext) -> list[Check]:
    new = ctx.new_profiles()
    if new is None:
        return []
    return [_check("card: nothing installed, nothing half-installed", new == [], f"new on the card: {new}")]


def no_session_loop(ctx: CaseContext, attempts: int) -> Check:
    n = len(ctx.calls("initiateAuthentication"))
    return _check(
        f"no automatic retry (≤ {attempts} session(s))", n <= attempts, f"{n} initiateAuthentication"
    )


def no_bpp(ctx: CaseContext) -> Check:
    n = len(ctx.calls("getBoundProfilePackage"))
    return _check("no getBoundProfilePackage", n == 0, f"{n} sent")


# --- downloads -------------------------------------------------------------------------------------


def _nominal(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab nominal"))
    return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": order.iccid})


def _judge_nominal(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid = p.facts["iccid"]
    flow = ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification"]
    seen = ctx.functions()
    return [
        dut_said(ctx, 0, True),
        _check("ES9+ calls in SGP.22 order", seen[:4] == flow, " → ".join(seen)),
        *installed_once(ctx, iccid),
        order_state(ctx, iccid, "Installed"),
    ]


def _with_code(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab CC"), cc=RIGHT_CODE)
    step = Step(Action.DOWNLOAD, order.activation_code, RIGHT_CODE, note=f"enter the code {RIGHT_CODE}")
    return Prepared((step,), {"iccid": order.iccid})


def _judge_with_code(ctx: CaseContext, p: Prepared) -> list[Check]:
    bpp = ctx.calls("getBoundProfilePackage")
    return [
        dut_said(ctx, 0, True),
        _check(
            "hashCc sent in getBoundProfilePackage", any(e.request.get("hashCc") == "present" for e in bpp)
        ),
        *installed_once(ctx, p.facts["iccid"]),
        order_state(ctx, p.facts["iccid"], "Installed"),
    ]


def _wrong_then_right(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab CC retry"), cc=RIGHT_CODE)
    steps = (
        Step(Action.DOWNLOAD, order.activation_code, WRONG_CODE, note=f"enter the WRONG code {WRONG_CODE}"),
        Step(Action.DOWNLOAD, order.activation_code, RIGHT_CODE, note=f"then the right code {RIGHT_CODE}"),
    )
    return Prepared(steps, {"iccid": order.iccid})


def _judge_wrong_then_right(ctx: CaseContext, p: Prepared) -> list[Check]:
    statuses = [e.status for e in ctx.calls("getBoundProfilePackage")]
    return [
        dut_said(ctx, 0, False),
        _check("the wrong code is refused (8.2.7/3.8)", "Failed 8.2.7/3.8" in statuses, str(statuses)),
        dut_said(ctx, 1, True),
        *installed_once(ctx, p.facts["iccid"]),
        order_state(ctx, p.facts["iccid"], "Installed"),
    ]


def _too_many_wrong(ctx: CaseContext) -> Prepared:
    order = ctx.server.order(ctx.server.new_profile("Lab CC locked"), cc=RIGHT_CODE, cc_attempts=2)
    step = Step(Action.DOWNLOAD, order.activation_code, WRONG_CODE, note=f"enter the WRONG code {WRONG_CODE}")
    return Prepared((step, step, step), {"iccid": order.iccid})


def _judge_too_many_wrong(ctx: CaseContext, p: Prepared) -> list[Check]:
    last = ctx.calls("authenticateClient")[-1:] or ctx.calls("getBoundProfilePackage")[-1:]
    final = last[0].status if last else "nothing"
    locked = final in ("Failed 8.8.5/6.4", "Failed 8.2.7/6.4")
    return [
        *(dut_said(ctx, i, False) for i in range(3)),
        _check("the third attempt is refused: attempts exhausted", locked, final),
        no_session_loop(ctx, 3),
        *nothing_installed(ctx),
    ]


# --- ES9+ refusals ---------------------------------------------------------------------------------


def _refusal(kind: str):  # noqa: ANN202 - a prepare function
    def prepare(ctx: CaseContext) -> Prepared:
        server = ctx.server
        if kind == "no-eligible-profile":
            code = f"LPA:1${server.address()}$LAB-NO-SUCH-ORDER-{server.port()}"
            return Prepared((Step(Action.DOWNLOAD, code),), {})
        iccid = server.new_profile(f"Lab refusal {kind}")
        options = {
            "not-released": {"release": False},
            "expired": {"expires_in": timedelta(minutes=-1)},
            "eid-mismatch": {"eid": OTHER_EID if ctx.card.eid != OTHER_EID else OTHER_EID[:-2] + "00"},
        }[kind]
        order = server.order(iccid, **options)  # type: ignore[arg-type]
        return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": iccid})

    return prepare


def _judge_refusal(code: str):  # noqa: ANN202 - a judge function
    def judge(ctx: CaseContext, p: Prepared) -> list[Check]:
        answers = [e.status for e in ctx.calls("authenticateClient")]
        return [
            dut_said(ctx, 0, False),
            _check(f"authenticateClient refused with {code}", f"Failed {code}" in answers, str(answers)),
            no_bpp(ctx),
            no_session_loop(ctx, 1),
            *nothing_installed(ctx),
        ]

    return judge


# --- the SM-DP+'s authentication gone wrong --------------------------------------------------------


def _resign(kind: str):  # noqa: ANN202
    def prepare(ctx: CaseContext) -> Prepared:
        server = ctx.server
        ctx.fault = {
            "other-ci": ResignServerSigned1(
                "serverSigned1 signed with a DPauth key of another CI", signer=server.other_ci_dpauth
            ),
            "bad-signature": ResignServerSigned1(
                "serverSignature1 with one bit flipped", signer=server.own_dpauth, flip_signature=True
            ),
            "wrong-address": ResignServerSigned1(
                "serverAddress in serverSigned1 changed to another SM-DP+, re-signed with the right key",
                signer=server.own_dpauth,
                server_address="other-" + server.address(),
            ),
        }[kind]
        order = server.order(server.new_profile(f"Lab auth {kind}"))
        return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": order.iccid})

    return prepare


def _judge_euicc_refusal(codes: tuple[str, ...]):  # noqa: ANN202
    def judge(ctx: CaseContext, p: Prepared) -> list[Check]:
        auth = ctx.calls("authenticateClient")
        refused = [
            e.request.get("authenticateErrorCode") for e in auth if e.request.get("euicc") == "refused"
        ]
        signed = [e for e in auth if e.request.get("euicc") == "ok"]
        return [
            dut_said(ctx, 0, False),
            _check("no eUICC signature handed to the SM-DP+", not signed, f"{len(signed)} euiccSigned1 sent"),
            _check(
                f"the eUICC's refusal reported to the SM-DP+ ({' or '.join(codes)})",
                bool(refused) and all(r in codes for r in refused),
                f"authenticateClient carried: {refused or 'nothing'}",
            ),
            no_bpp(ctx),
            *nothing_installed(ctx),
            order_state(ctx, p.facts["iccid"], "Released"),
        ]

    return judge


def _judge_wrong_address(ctx: CaseContext, p: Prepared) -> list[Check]:
    mine = ctx.server.address()
    auth = ctx.calls("authenticateClient")
    wrong = [e for e in auth if e.request.get("euicc") == "ok" and e.request.get("serverAddress") != mine]
    return [
        dut_said(ctx, 0, False),
        _check(
            "no session signed for another SM-DP+ address", not wrong, f"{len(wrong)} euiccSigned1 for it"
        ),
        no_bpp(ctx),
        *nothing_installed(ctx),
        order_state(ctx, p.facts["iccid"], "Released"),
    ]


# --- TLS -------------------------------------------------------------------------------------------


def _tls(listener: str):  # noqa: ANN202
    def prepare(ctx: CaseContext) -> Prepared:
        order = ctx.server.order(ctx.server.new_profile(f"Lab {listener}"), listener=listener)
        return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": order.iccid})

    def judge(ctx: CaseContext, p: Prepared) -> list[Check]:
        talked = ctx.calls(listener=listener) + ctx.calls()
        return [
            dut_said(ctx, 0, False),
            _check(
                "no ES9+ request sent over that TLS connection",
                not talked,
                " → ".join(e.function for e in talked) or "none",
            ),  # fmt: skip
            *nothing_installed(ctx),
            order_state(ctx, p.facts["iccid"], "Released"),
        ]

    return prepare, judge


# --- an unreliable network -------------------------------------------------------------------------


def _unreliable(kind: str):  # noqa: ANN202
    def prepare(ctx: CaseContext) -> Prepared:
        if kind == "cut":
            ctx.fault = CutOnce("connection cut half-way through the first getBoundProfilePackage answer")
        else:
            slow = ("initiateAuthentication", "getBoundProfilePackage")
            ctx.fault = Slow(f"{' and '.join(slow)} answers held back {ctx.slow_seconds:g} s",
                             seconds=ctx.slow_seconds, functions=slow)  # fmt: skip
        order = ctx.server.order(ctx.server.new_profile(f"Lab {kind}"))
        first = Step(Action.DOWNLOAD, order.activation_code)
        again = Step(
            Action.DOWNLOAD, order.activation_code, note="the first attempt failed: try again", retry=True
        )
        return Prepared((first, again), {"iccid": order.iccid})

    return prepare


def _judge_unreliable(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid = p.facts["iccid"]
    checks: list[Check] = []
    first_ok = bool(ctx.outcomes) and ctx.outcomes[0].ok
    if not first_ok:
        sessions = [e.request.get("transactionId") for e in ctx.calls("getBoundProfilePackage")]
        first_tx = sessions[0] if sessions else None
        cancelled = [
            e.request.get("reason") for e in ctx.calls("cancelSession") if e.request.get("transactionId") == first_tx
        ]  # fmt: skip
        retried = sessions.count(first_tx) > 1 if first_tx else False
        checks.append(
            _check(
                "the interrupted session is cancelled (or its request retried)",
                bool(cancelled) or retried,
                f"cancelSession reasons: {cancelled or 'none'}",
            )  # fmt: skip
        )
        checks.append(
            _check(
                "cancelSession reason fits a network failure",
                all(reason in NETWORK_REASONS for reason in cancelled),
                f"{cancelled or 'none'}; fitting: {', '.join(NETWORK_REASONS)}",
            )  # fmt: skip
        )
        checks.append(dut_said(ctx, 1, True))
    else:
        checks.append(dut_said(ctx, 0, True))
    return [*checks, *installed_once(ctx, iccid), order_state(ctx, iccid, "Installed")]


# --- notifications and the TS.48 network-test profiles ----------------------------------------------


def _lifecycle(ts48: bool):  # noqa: ANN202
    def prepare(ctx: CaseContext) -> Prepared:
        if ts48:
            files = sorted(ctx.ts48.glob("*-UNIQUE.der")) if ctx.ts48 else []
            if not files:
                return Prepared((), not_applicable="give --ts48 DIR (the GSMA TS.48 test profiles)")
            iccid = _import_unused(ctx, files)
            if iccid is None:
                return Prepared((), not_applicable="every TS.48 profile in --ts48 was used already")
        else:
            iccid = ctx.server.new_profile("Lab notifications")
        order = ctx.server.order(iccid)
        steps = (
            Step(Action.DOWNLOAD, order.activation_code),
            Step(Action.ENABLE, iccid=iccid),
            Step(Action.DISABLE, iccid=iccid),
            Step(Action.DELETE, iccid=iccid),
        )
        return Prepared(steps, {"iccid": iccid})

    return prepare


def _import_unused(ctx: CaseContext, files: list[Path]) -> str | None:
    """The first TS.48 profile this SM-DP+ does not hold yet (each ICCID is imported once)."""
    for path in reversed(files):
        try:
            return ctx.server.import_profile(path)
        except OpenRSPError:
            continue  # imported by an earlier case of this campaign
    return None


def _judge_lifecycle(ctx: CaseContext, p: Prepared) -> list[Check]:
    iccid = p.facts["iccid"]
    notes = [e for e in ctx.calls("handleNotification") if e.request.get("iccid") == iccid]
    checks = [dut_said(ctx, i, True) for i in range(4)]
    for event in ("install", "enable", "disable", "delete"):
        got = [e for e in notes if e.request.get("event") == event]
        accepted = [e for e in got if e.status == "HTTP 204"]
        checks.append(
            _check(
                f"{event} notification delivered, signature accepted",
                len(accepted) >= 1,
                f"{len(got)} received, {len(accepted)} accepted",
            )  # fmt: skip
        )
    expected_states = ("disabled", "enabled", "disabled", "absent")  # after download, enable, ...
    states = [ctx.state_after_step(i, iccid) for i in range(4)]
    if all(state is not None for state in states):
        checks.append(
            _check(
                "card: installed, enabled, disabled, then gone",
                tuple(states) == expected_states,
                " → ".join(str(s) for s in states),
            )  # fmt: skip
        )
    if ctx.before is not None and ctx.after is not None:
        checks.append(
            _check(
                "card: left as it was",
                ctx.before["profiles"] == ctx.after["profiles"],
                f"before {len(ctx.before['profiles'])} profiles, after {len(ctx.after['profiles'])}",
            )  # fmt: skip
        )
        checks.append(_check("card: no notification left pending", not ctx.pending_for(iccid)))
    return checks


# --- the default SM-DP+ ----------------------------------------------------------------------------


def _default_smdp(ctx: CaseContext) -> Prepared:
    eid = ctx.card.eid
    if eid is None:
        return Prepared((), not_applicable="needs a card the lab can configure (--card virtual or pcsc)")
    iccid = ctx.server.new_profile("Lab default SM-DP+")
    ctx.server.order(iccid, eid=eid, matching_id="")
    previous = set_default_smdp(ctx, ctx.server.address())
    return Prepared(
        (Step(Action.DOWNLOAD_DEFAULT),), {"iccid": iccid}, cleanup=lambda: set_default_smdp(ctx, previous)
    )


def set_default_smdp(ctx: CaseContext, address: str) -> str:
    """Configure the eUICC's default SM-DP+ address, as its EUM or a previous LPA would have; the
    address it had before."""
    from openrsp.euicc.store import open_euicc

    assert ctx.card.directory is not None
    with open_euicc(ctx.card.directory).transaction() as state:
        previous = state.default_smdp or ""
        state.default_smdp = address or None
    return previous


def _judge_default(ctx: CaseContext, p: Prepared) -> list[Check]:
    auth = ctx.calls("authenticateClient")
    return [
        dut_said(ctx, 0, True),
        _check(
            "no matchingId sent (default SM-DP+ use case)",
            any(e.request.get("matchingId") in ("", None) for e in auth if e.request.get("euicc") == "ok"),
        ),  # fmt: skip
        *installed_once(ctx, p.facts["iccid"]),
        order_state(ctx, p.facts["iccid"], "Installed"),
    ]


# --- the catalogue ----------------------------------------------------------------------------------

_untrusted = _tls("tls-untrusted")
_wrong_host = _tls("tls-wrong-host")

CASES: tuple[Case, ...] = (
    Case("download.nominal", "Nominal download with an activation code",
         "ES9+ calls in order; profile installed; install notification delivered; order Installed",
         _nominal, _judge_nominal, ADDED_Q, group="download"),
    Case("download.confirmation-code", "Download with a confirmation code",
         "the code is asked for and sent as hashCc; profile installed",
         _with_code, _judge_with_code, ADDED_Q, group="download"),
    Case("download.confirmation-code-retry", "Wrong confirmation code, then the right one",
         "the wrong code is refused (8.2.7/3.8) and shown; a new attempt with the right code installs",
         _wrong_then_right, _judge_wrong_then_right, ADDED_Q, group="download"),
    Case("download.confirmation-code-exhausted", "Too many wrong confirmation codes",
         "after the allowed attempts the SM-DP+ refuses (6.4); the LPA shows it and stops",
         _too_many_wrong, _judge_too_many_wrong, REFUSED_Q, group="download"),
    Case("download.default-smdp", "Download from the eUICC's default SM-DP+",
         "no activation code: the LPA asks the default SM-DP+ with an empty matchingId; installed",
         _default_smdp, _judge_default, ADDED_Q, needs=frozenset({"default"}), group="download"),
    Case("refusal.not-released", "Order not released",
         "authenticateClient refused 8.2/1.2; shown to the user; no retry; nothing installed",
         _refusal("not-released"), _judge_refusal("8.2/1.2"), REFUSED_Q, group="refusal"),
    Case("refusal.expired", "Order expired",
         "authenticateClient refused 8.8.5/4.10; shown; no retry; nothing installed",
         _refusal("expired"), _judge_refusal("8.8.5/4.10"), REFUSED_Q, group="refusal"),
    Case("refusal.eid-mismatch", "Order for another EID",
         "authenticateClient refused 8.1.1/3.8; shown; no retry; nothing installed",
         _refusal("eid-mismatch"), _judge_refusal("8.1.1/3.8"), REFUSED_Q, group="refusal"),
    Case("refusal.no-eligible-profile", "No order for this activation code",
         "authenticateClient refused 8.2.6/3.8; shown; no retry; nothing installed",
         _refusal("no-eligible-profile"), _judge_refusal("8.2.6/3.8"), REFUSED_Q, group="refusal"),
    Case("auth.dpauth-other-ci", "serverSigned1 signed by a DPauth of another CI",
         "the eUICC refuses (invalidCertificate/ciPKUnknown); the LPA reports it in authenticateClient and stops",
         _resign("other-ci"), _judge_euicc_refusal(("invalidCertificate", "ciPKUnknown")), REFUSED_Q, group="auth"),
    Case("auth.bad-signature", "serverSignature1 does not verify",
         "the eUICC refuses (invalidSignature); the LPA reports it in authenticateClient and stops",
         _resign("bad-signature"), _judge_euicc_refusal(("invalidSignature",)), REFUSED_Q, group="auth"),
    Case("auth.wrong-server-address", "serverSigned1 names another SM-DP+ address",
         "no session goes on: no euiccSigned1 over that address reaches the SM-DP+; nothing installed",
         _resign("wrong-address"), _judge_wrong_address, REFUSED_Q, group="auth"),
    Case("tls.untrusted-certificate", "TLS certificate that does not chain to a trusted CI",
         "the LPA does not talk to that server: no ES9+ request at all",
         _untrusted[0], _untrusted[1], REFUSED_Q, group="tls"),
    Case("tls.wrong-host", "TLS certificate from the right CI naming another host",
         "the LPA does not talk to that server: no ES9+ request at all",
         _wrong_host[0], _wrong_host[1], REFUSED_Q, group="tls"),
    Case("network.cut-during-bpp", "Connection cut during getBoundProfilePackage",
         "the session is cancelled cleanly (or the request retried); a new attempt installs the profile",
         _unreliable("cut"), _judge_unreliable, ADDED_Q, group="network"),
    Case("network.slow-server", "Slow SM-DP+ (answers delayed)",
         "the LPA waits, or cancels cleanly and a new attempt installs the profile",
         _unreliable("slow"), _judge_unreliable, ADDED_Q, group="network"),
    Case("notifications.lifecycle", "Install, enable, disable, delete: every notification arrives",
         "four notifications delivered to the SM-DP+, each accepted (signature verified); nothing left pending",
         _lifecycle(False), _judge_lifecycle, None, needs=frozenset({"manage"}), group="notifications"),
    Case("ts48.install-enable-remove", "TS.48 test profile installed, enabled, then removed",
         "the TS.48 profile installs and enables; removed again, the device is left as it was",
         _lifecycle(True), _judge_lifecycle, None, needs=frozenset({"manage"}), group="ts48"),
    Case("discovery.smds", "Profile discovery through the SM-DS",
         "the LPA finds the event on the SM-DS and downloads from the SM-DP+ it names",
         unavailable="needs the SM-DS (ES11/ES12), not on main yet", group="discovery"),
    Case("policy.ppr-not-allowed", "Profile with PPRs the device's RAT does not allow",
         "the LPA refuses before installing (cancelSession reason pprNotAllowed)",
         unavailable="needs profiles carrying PPRs and an LPA checking them against the RAT, not on main yet",
         group="policy"),
)  # fmt: skip


def select(pattern: str | None) -> list[Case]:
    """Cases whose id matches any comma-separated glob of `pattern` (all when None)."""
    if not pattern:
        return list(CASES)
    globs = [g.strip() for g in pattern.split(",") if g.strip()]
    return [c for c in CASES if any(fnmatch.fnmatch(c.id, g) or c.id.startswith(g + ".") for g in globs)]
