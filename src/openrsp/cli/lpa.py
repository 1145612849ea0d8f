"""`openrsp lpa`: the LPA's command line, with lpac's verbs (chip, profile, notification).

    openrsp lpa [--euicc DIR | --pcsc [READER]] [--json] [--ci CERT... | --pki DIR]
                [--client-cert PEM --client-key PEM] [--resolve HOST:IP] [--proxy URL] COMMAND

With --json each command prints one lpac-shaped JSON object on stdout. Failures exit 1 with the
SGP.22 code and plain words (and, with --json, lpac's error object).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from openrsp.errors import InputError, OpenRSPError
from openrsp.lpa import lpac_json, lui
from openrsp.lpa.activation_code import activation_code_from_qr, check_smdp_address, parse_activation_code
from openrsp.lpa.device import DeviceInfo
from openrsp.lpa.errors import Es9Failure, LpaInputError
from openrsp.lpa.https import HttpsSettings, load_ca_certificates, parse_resolve
from openrsp.lpa.lpd import Download, DownloadRequest
from openrsp.lpa.notifications import NotificationOutcome, NotificationsKept
from openrsp.lpa.session import LpaSession
from openrsp.lpa.transport import ApduTransport

_COMMAND_GROUPS = ("chip", "profile", "notification")


class _LpaGroup(TyperGroup):
    """`--pcsc` takes an optional reader name: `--pcsc chip info` must not read "chip" as one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        fixed = list(args)
        for i, arg in enumerate(fixed):
            if arg in _COMMAND_GROUPS:
                break
            if arg == "--pcsc" and (
                i + 1 == len(fixed) or fixed[i + 1].startswith("-") or fixed[i + 1] in _COMMAND_GROUPS
            ):
                fixed[i] = "--pcsc="
        return super().parse_args(ctx, fixed)


app = typer.Typer(
    cls=_LpaGroup,
    help="LPA: the eUICC's profiles and notifications, downloads from an SM-DP+ (lpac's commands).",
    no_args_is_help=True,
)
chip_app = typer.Typer(help="The eUICC itself: info, default SM-DP+, memory reset.", no_args_is_help=True)
profile_app = typer.Typer(
    help="List, enable, disable, delete, rename and download profiles.", no_args_is_help=True
)
notification_app = typer.Typer(help="Pending notifications: list, send, remove.", no_args_is_help=True)
app.add_typer(chip_app, name="chip")
app.add_typer(profile_app, name="profile")
app.add_typer(notification_app, name="notification")


@dataclass
class _Options:
    session: LpaSession
    as_json: bool


# --- wiring: card and trust --------------------------------------------------------------------------


def _transport_factory(euicc: Path | None, pcsc: str | None) -> Callable[[], ApduTransport]:
    if euicc is not None and pcsc is not None:
        raise InputError("give either --euicc DIR or --pcsc [READER], not both")

    def open_transport() -> ApduTransport:
        from openrsp.lpa.transport import InProcessTransport, PcscTransport

        if euicc is not None:
            from openrsp.euicc.store import open_card  # the in-process eUICC: CLI wiring only

            return InProcessTransport(open_card(euicc))
        return PcscTransport(pcsc or None)

    return open_transport


def _https_factory(
    euicc: Path | None,
    ci: list[Path],
    pki: Path | None,
    client_cert: Path | None,
    client_key: Path | None,
    resolve: dict[str, str],
    proxy: str | None,
    timeout: float,
) -> Callable[[], HttpsSettings]:
    def settings() -> HttpsSettings:
        cas = load_ca_certificates(ci)
        if pki is not None:
            # Only the CIs: an SM-DP+ that does not expect LPA certificates refuses one it cannot check,
            # so the LPA TLS client certificate is presented only when asked for (--client-cert).
            from openrsp.pki.layout import PkiIndex

            index = PkiIndex.read(pki)
            cas += load_ca_certificates(index.cert_path(curve, "ci") for curve in index.curves)
        if not cas and euicc is not None:
            cas = _euicc_trusted_cis(euicc)
        return HttpsSettings(tuple(cas), client_cert, client_key, resolve, proxy, timeout)

    return settings


def _euicc_trusted_cis(directory: Path) -> list[Any]:
    from cryptography import x509

    from openrsp.euicc.store import read_state

    return [x509.load_der_x509_certificate(ci.certificate) for ci in read_state(directory).trusted_cis]


@app.callback()
def _lpa(
    ctx: typer.Context,
    euicc: Annotated[
        Path | None, typer.Option("--euicc", help="Use the virtual eUICC in this folder (in-process).")
    ] = None,
    pcsc: Annotated[
        str | None,
        typer.Option("--pcsc", help="Use a PC/SC reader (the first with a card, or the one named). Default."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one lpac-style JSON object.")] = False,
    ci: Annotated[
        list[Path] | None, typer.Option("--ci", help="CI certificate trusted for SM-DP+ TLS (repeatable).")
    ] = None,
    pki: Annotated[
        Path | None, typer.Option("--pki", help="An `openrsp pki init` folder: trust its CI certificates.")
    ] = None,
    client_cert: Annotated[
        Path | None, typer.Option("--client-cert", help="LPA TLS client certificate (PEM).")
    ] = None,
    client_key: Annotated[Path | None, typer.Option("--client-key", help="Its private key (PEM).")] = None,
    resolve: Annotated[
        list[str] | None, typer.Option("--resolve", help="HOST:IP, like curl --resolve (repeatable).")
    ] = None,
    proxy: Annotated[
        str | None, typer.Option("--proxy", help="HTTP CONNECT proxy, http://HOST:PORT.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for an SM-DP+.")] = 30.0,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify/--no-notify", help="Send notifications after each operation (default) or keep them."
        ),
    ] = True,
) -> None:
    """The LPA: talks ES10 to an eUICC and ES9+ (HTTPS) to SM-DP+s."""
    try:
        if (client_cert is None) != (client_key is None):
            raise InputError("--client-cert and --client-key go together")
        session = LpaSession(
            _transport_factory(euicc, pcsc),
            _https_factory(
                euicc, ci or [], pki, client_cert, client_key, parse_resolve(resolve or []), proxy, timeout
            ),
            notify=notify,
        )
    except OpenRSPError as exc:
        _fail(exc, as_json)
    ctx.obj = _Options(session, as_json)
    ctx.call_on_close(session.close)


# --- running a command ---------------------------------------------------------------------------------


def _run(ctx: typer.Context, action: Callable[[LpaSession], Any], show: Callable[[Any], None]) -> None:
    """Run `action`; print its data as lpac JSON or through `show`; failures exit 1."""
    options: _Options = ctx.obj
    try:
        data = action(options.session)
    except (OpenRSPError, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            exc = OpenRSPError("interrupted")
        _fail(exc, options.as_json)
    if options.as_json:
        typer.echo(json.dumps(lpac_json.success(_json_data(data)), ensure_ascii=False))
    else:
        show(data)


def _json_data(data: Any) -> Any:
    return data.json if isinstance(data, _Result) else data


@dataclass
class _Result:
    """What a command produced: JSON data for --json, and anything the text view needs."""

    json: Any
    value: Any = None
    outcomes: list[NotificationOutcome] | None = None


def _fail(exc: BaseException, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(lpac_json.failure(exc if isinstance(exc, Exception) else OpenRSPError(str(exc))))
        )
    typer.echo(f"error: {exc}", err=True)
    for note in getattr(exc, "__notes__", []):
        typer.echo(f"  {note}", err=True)
    raise typer.Exit(1)


def _show_outcomes(result: _Result) -> None:
    if result.outcomes:
        lui.print_outcomes(result.outcomes)


# --- chip ----------------------------------------------------------------------------------------------


@chip_app.command("info")
def chip_info(ctx: typer.Context) -> None:
    """EID, configured addresses (default SM-DP+, root SM-DS) and EUICCInfo2."""

    def action(session: LpaSession) -> _Result:
        es10 = session.es10
        eid, addresses, info2 = es10.get_eid(), es10.get_configured_addresses(), es10.get_euicc_info2()
        return _Result(lpac_json.chip_info(eid, addresses, info2), (eid, addresses, info2))

    _run(ctx, action, lambda r: lui.print_chip_info(*r.value))


@chip_app.command("defaultsmdp")
def chip_defaultsmdp(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="SM-DP+ address (host or host:port); '' clears it.")],
) -> None:
    """Set the eUICC's default SM-DP+ address (used by `profile download` without a code)."""

    def action(session: LpaSession) -> _Result:
        checked = check_smdp_address(address) if address else ""
        session.es10.set_default_dp_address(checked)
        return _Result(None, checked)

    _run(
        ctx,
        action,
        lambda r: lui.out.print(f"Default SM-DP+ set to {r.value}" if r.value else "Default SM-DP+ cleared"),
    )


@chip_app.command("purge")
def chip_purge(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """eUICCMemoryReset: delete every profile and the default SM-DP+ address. Asks first."""

    def action(session: LpaSession) -> _Result:
        if not yes and not lui.confirm("This deletes EVERY profile on the eUICC. Go on?"):
            raise LpaInputError(
                "memory reset not confirmed; nothing was deleted", step="es10c_euicc_memory_reset"
            )
        deleted = session.es10.memory_reset()
        outcomes = session.after_operation()
        return _Result(None, deleted, outcomes)

    def show(result: _Result) -> None:
        lui.out.print(
            "eUICC memory reset: all profiles deleted"
            if result.value
            else "eUICC memory reset: nothing to delete"
        )
        _show_outcomes(result)

    _run(ctx, action, show)


# --- profile -------------------------------------------------------------------------------------------


@profile_app.command("list")
def profile_list(ctx: typer.Context) -> None:
    """The profiles on the eUICC."""

    def action(session: LpaSession) -> _Result:
        profiles = session.es10.get_profiles_info()
        return _Result([lpac_json.profile(p) for p in profiles], profiles)

    _run(ctx, action, lambda r: lui.print_profiles(r.value))


def _operation(
    ctx: typer.Context, profile: str, verb: str, call: Callable[[LpaSession], None], *, notify: bool = True
) -> None:
    def action(session: LpaSession) -> _Result:
        call(session)
        outcomes = session.after_operation() if notify else []
        data = {"iccid": profile, "notifications": [lpac_json.outcome(o) for o in outcomes]}
        return _Result(data, profile, outcomes)

    def show(result: _Result) -> None:
        lui.out.print(f"Profile {profile} {verb}.")
        _show_outcomes(result)

    _run(ctx, action, show)


_REFRESH = typer.Option("--refresh/--no-refresh", help="Ask the eUICC for a REFRESH (lpac's default: yes).")


@profile_app.command("enable")
def profile_enable(
    ctx: typer.Context,
    profile: Annotated[str, typer.Argument(help="ICCID or ISD-P AID.")],
    refresh: Annotated[bool, _REFRESH] = True,
) -> None:
    """Enable a profile (the enabled one, if any, is disabled)."""
    _operation(ctx, profile, "enabled", lambda s: s.es10.enable_profile(profile, refresh))


@profile_app.command("disable")
def profile_disable(
    ctx: typer.Context,
    profile: Annotated[str, typer.Argument(help="ICCID or ISD-P AID.")],
    refresh: Annotated[bool, _REFRESH] = True,
) -> None:
    """Disable a profile."""
    _operation(ctx, profile, "disabled", lambda s: s.es10.disable_profile(profile, refresh))


@profile_app.command("delete")
def profile_delete(
    ctx: typer.Context, profile: Annotated[str, typer.Argument(help="ICCID or ISD-P AID.")]
) -> None:
    """Delete a (disabled) profile."""
    _operation(ctx, profile, "deleted", lambda s: s.es10.delete_profile(profile))


@profile_app.command("nickname")
def profile_nickname(
    ctx: typer.Context,
    iccid: Annotated[str, typer.Argument(help="ICCID of the profile.")],
    nickname: Annotated[str, typer.Argument(help="The new nickname ('' clears it).")],
) -> None:
    """Set a profile's nickname."""
    _operation(
        ctx, iccid, f"renamed to {nickname!r}", lambda s: s.es10.set_nickname(iccid, nickname), notify=False
    )


@profile_app.command("download")
def profile_download(
    ctx: typer.Context,
    activation_code: Annotated[
        str | None, typer.Option("--activation-code", "-a", help="Activation code 'LPA:1$SMDP$MATCHING-ID'.")
    ] = None,
    qr: Annotated[Path | None, typer.Option("--qr", help="Image of the activation code's QR code.")] = None,
    smdp: Annotated[
        str | None, typer.Option("--smdp", "-s", help="SM-DP+ address (host or host:port).")
    ] = None,
    matching_id: Annotated[str | None, typer.Option("--matching-id", "-m", help="Matching ID.")] = None,
    confirmation_code: Annotated[
        str | None,
        typer.Option("--confirmation-code", "-c", help="Confirmation code, if the operator gave one."),
    ] = None,
    imei: Annotated[str | None, typer.Option("--imei", "-i", help="IMEI to announce to the SM-DP+.")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Install without asking (no consent screen).")
    ] = False,
) -> None:
    """Download a profile: from an activation code, a QR image, an SM-DP+ address, or the default SM-DP+."""
    options: _Options = ctx.obj

    def action(session: LpaSession) -> _Result:
        request = _download_request(session, activation_code, qr, smdp, matching_id, confirmation_code, imei)
        result = _download(session, request, yes=yes, quiet=options.as_json)
        outcomes = [result.notification] if result.notification else []
        outcomes += session.after_operation()
        data = lpac_json.download(result) | {"notifications": [lpac_json.outcome(o) for o in outcomes]}
        return _Result(data, result, outcomes)

    def show(result: _Result) -> None:
        lui.print_download(result.value)
        _show_outcomes(result)

    _run(ctx, action, show)


def _download_request(
    session: LpaSession,
    activation_code: str | None,
    qr: Path | None,
    smdp: str | None,
    matching_id: str | None,
    confirmation_code: str | None,
    imei: str | None,
) -> DownloadRequest:
    given = [
        name for name, value in (("-a", activation_code), ("--qr", qr), ("-s", smdp)) if value is not None
    ]
    if len(given) > 1:
        raise LpaInputError(f"give only one of -a, --qr and -s (got {', '.join(given)})")
    if (activation_code is not None or qr is not None) and matching_id is not None:
        raise LpaInputError("the activation code already holds the matching ID: leave out -m")
    device = DeviceInfo.for_imei(imei)
    if activation_code is not None or qr is not None:
        code = (
            parse_activation_code(activation_code)
            if activation_code is not None
            else activation_code_from_qr(qr)
        )
        return DownloadRequest(code.smdp_address, code.matching_id, confirmation_code, code.smdp_oid, device)
    if smdp is not None:
        address = check_smdp_address(smdp)
    else:
        address = session.es10.get_configured_addresses().default_dp_address or ""
        if not address:
            raise LpaInputError(
                "no SM-DP+ to download from: give -a, --qr or -s, or set a default with `chip defaultsmdp`",
                step="es10a_get_euicc_configured_addresses",
            )
    return DownloadRequest(address, matching_id, confirmation_code, None, device)


def _download(session: LpaSession, request: DownloadRequest, *, yes: bool, quiet: bool) -> Any:
    """Run downloads until one succeeds; a refused code the user typed may be typed again (new session)."""
    consent: Callable[..., bool] = (lambda _m: True) if yes else lui.ask_consent
    typed: list[str] = []  # codes the user typed in this attempt (not given with -c)

    def ask_code(meta: Any) -> str | None:
        code = lui.ask_confirmation_code(meta)
        if code:
            typed.append(code)
        return code

    while True:
        typed.clear()
        es9 = session.connect(request.smdp_address)
        try:
            with _progress(quiet) as progress:
                download = Download(
                    session.es10,
                    es9,
                    request,
                    consent=consent,
                    confirmation_code=ask_code,
                    progress=progress,
                    on_step=None if quiet else lui.show_step,
                    notifications=session.notification_sender() if session.notify else None,
                )
                return download.run()
        except Es9Failure as exc:
            if not (typed and exc.subject_code == "8.2.7" and exc.reason_code == "3.8"):
                raise
            lui.err.print(f"[yellow]{exc}[/yellow]")
            if not lui.confirm("The confirmation code was refused. Try again with another code?"):
                raise
            consent = lambda _m: True  # noqa: E731 - the user already agreed to this profile
        finally:
            es9.close()


def _progress(quiet: bool) -> Any:
    from contextlib import nullcontext

    return nullcontext(None) if quiet else lui.load_progress()


# --- notification ----------------------------------------------------------------------------------------


@notification_app.command("list")
def notification_list(ctx: typer.Context) -> None:
    """The notifications waiting on the eUICC."""

    def action(session: LpaSession) -> _Result:
        pending = session.es10.list_notifications()
        return _Result([lpac_json.notification(n) for n in pending], pending)

    _run(ctx, action, lambda r: lui.print_notifications(r.value))


@notification_app.command("process")
def notification_process(
    ctx: typer.Context,
    seq_numbers: Annotated[list[int] | None, typer.Argument(help="Sequence numbers (default: all).")] = None,
    process_all: Annotated[bool, typer.Option("--all", "-a", help="Every pending notification.")] = False,
    remove: Annotated[
        bool, typer.Option("--remove", "-r", help="Remove each from the eUICC once delivered.")
    ] = False,
) -> None:
    """Send pending notifications to their SM-DP+ (all of them, or the ones named)."""
    if seq_numbers and process_all:
        _fail(InputError("give sequence numbers or --all, not both"), ctx.obj.as_json)

    def action(session: LpaSession) -> _Result:
        outcomes = session.notification_sender().process(seq_numbers or None, remove=remove)
        if any(not o.delivered for o in outcomes):
            raise NotificationsKept(outcomes)
        return _Result([lpac_json.outcome(o) for o in outcomes], None, outcomes)

    def show(result: _Result) -> None:
        if not result.outcomes:
            lui.out.print("No pending notifications.")
        _show_outcomes(result)

    _run(ctx, action, show)


@notification_app.command("remove")
def notification_remove(
    ctx: typer.Context,
    seq_numbers: Annotated[list[int], typer.Argument(help="Sequence numbers to remove without sending.")],
) -> None:
    """Remove notifications from the eUICC without sending them."""

    def action(session: LpaSession) -> _Result:
        missing = [seq for seq in seq_numbers if not session.es10.remove_notification(seq)]
        if missing:
            raise LpaInputError(
                f"the eUICC holds no notification {', '.join(map(str, missing))}",
                step="es10b_remove_notification_from_list",
            )
        return _Result(None, seq_numbers)

    _run(ctx, action, lambda r: lui.out.print(f"Removed notification {', '.join(map(str, r.value))}."))
