"""The SM-DP+'s authentication gone wrong: serverSigned1 signed by another CI's DPauth, with a bad
signature, or naming another SM-DP+; TLS certificates that do not chain to the CI or name another host."""

from __future__ import annotations

from collections.abc import Callable

from openrsp.lab.cases.checks import check, dut_said, no_bpp, nothing_installed, order_state
from openrsp.lab.context import CaseContext
from openrsp.lab.faults import ResignServerSigned1
from openrsp.lab.model import Action, Check, Prepared, Step


def resign(kind: str) -> Callable[[CaseContext], Prepared]:
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


def judge_euicc_refusal(codes: tuple[str, ...]) -> Callable[[CaseContext, Prepared], list[Check]]:
    def judge(ctx: CaseContext, p: Prepared) -> list[Check]:
        auth = ctx.calls("authenticateClient")
        refused = [
            e.request.get("authenticateErrorCode") for e in auth if e.request.get("euicc") == "refused"
        ]
        signed = [e for e in auth if e.request.get("euicc") == "ok"]
        return [
            dut_said(ctx, 0, False),
            check("no eUICC signature handed to the SM-DP+", not signed, f"{len(signed)} euiccSigned1 sent"),
            check(
                f"the eUICC's refusal reported to the SM-DP+ ({' or '.join(codes)})",
                bool(refused) and all(r in codes for r in refused),
                f"authenticateClient carried: {refused or 'nothing'}",
            ),
            no_bpp(ctx),
            *nothing_installed(ctx),
            order_state(ctx, p.facts["iccid"], "Released"),
        ]

    return judge


def judge_wrong_address(ctx: CaseContext, p: Prepared) -> list[Check]:
    mine = ctx.server.address()
    auth = ctx.calls("authenticateClient")
    wrong = [e for e in auth if e.request.get("euicc") == "ok" and e.request.get("serverAddress") != mine]
    return [
        dut_said(ctx, 0, False),
        check("no session signed for another SM-DP+ address", not wrong, f"{len(wrong)} euiccSigned1 for it"),
        no_bpp(ctx),
        *nothing_installed(ctx),
        order_state(ctx, p.facts["iccid"], "Released"),
    ]


def tls(
    listener: str,
) -> tuple[Callable[[CaseContext], Prepared], Callable[[CaseContext, Prepared], list[Check]]]:
    def prepare(ctx: CaseContext) -> Prepared:
        order = ctx.server.order(ctx.server.new_profile(f"Lab {listener}"), listener=listener)
        return Prepared((Step(Action.DOWNLOAD, order.activation_code),), {"iccid": order.iccid})

    def judge(ctx: CaseContext, p: Prepared) -> list[Check]:
        talked = ctx.calls(listener=listener) + ctx.calls()
        return [
            dut_said(ctx, 0, False),
            check(
                "no ES9+ request sent over that TLS connection",
                not talked,
                " → ".join(e.function for e in talked) or "none",
            ),  # fmt: skip
            *nothing_installed(ctx),
            order_state(ctx, p.facts["iccid"], "Released"),
        ]

    return prepare, judge
