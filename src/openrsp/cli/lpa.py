"""`openrsp lpa`: the LPA's command line, with lpac's verbs (chip, profile, notification).

    openrsp lpa [--euicc DIR | --pcsc [READER]] [--json] [--ci CERT... | --pki DIR]
                [--client-cert PEM --client-key PEM] [--resolve HOST:IP] [--proxy URL] COMMAND

Options are parsed here; what each command does is openrsp.lpa.ui.actions. With --json each command
prints one lpac-shaped JSON object on stdout; failures exit 1 with the SGP.22 code in plain words.
The LPA is imported only when an lpa command runs, so the rest of `openrsp` starts as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from openrsp.lpa.drivers.transport import ApduTransport
    from openrsp.lpa.ui.actions import Result
    from openrsp.lpa.ui.session import LpaSession

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


class _Options:
    def __init__(self, session: LpaSession, as_json: bool) -> None:
        self.session = session
        self.as_json = as_json


# --- wiring: which card, whom to trust ----------------------------------------------------------------------


def _transport_factory(euicc: Path | None, pcsc: str | None) -> Callable[[], ApduTransport]:
    def open_transport() -> ApduTransport:
        if euicc is not None:
            from openrsp.lpa.drivers.in_process import open_euicc_folder

            return open_euicc_folder(euicc)
        from openrsp.lpa.drivers.pcsc import PcscTransport

        return PcscTransport(pcsc or None)

    return open_transport


@app.callback()
def _lpa(
    ctx: typer.Context,
    euicc: Annotated[
        Path | None, typer.Option("--euicc", help="Use the virtual eUICC in this folder (in-process).")
    ] = None,
    pcsc: Annotated[
        str | None,
        typer.Option(
            "--pcsc", help="Use a PC/SC reader: the first holding a card, or the one named (default)."
        ),
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
    from openrsp.errors import InputError, OpenRSPError
    from openrsp.lpa.ui.actions import fail
    from openrsp.lpa.ui.connect import https_factory
    from openrsp.lpa.ui.session import LpaSession

    try:
        if euicc is not None and pcsc is not None:
            raise InputError("give either --euicc DIR or --pcsc [READER], not both")
        # Trust: the CIs given (--ci, --pki), else the CIs the virtual eUICC itself trusts.
        https = https_factory(
            ci=ci or [], pki=pki, euicc=euicc, client_cert=client_cert, client_key=client_key,
            resolve=resolve or [], proxy=proxy, timeout=timeout,
        )  # fmt: skip
        session = LpaSession(_transport_factory(euicc, pcsc), https, notify=notify)
    except OpenRSPError as exc:
        raise typer.Exit(fail(exc, as_json)) from None
    ctx.obj = _Options(session, as_json)
    ctx.call_on_close(session.close)


def _run(ctx: typer.Context, action: Callable[[LpaSession], Result]) -> None:
    from openrsp.lpa.ui.actions import run

    options: _Options = ctx.obj
    code = run(options.session, options.as_json, action)
    if code:
        raise typer.Exit(code)


def _actions() -> Any:
    from openrsp.lpa.ui import actions

    return actions


# --- chip ---------------------------------------------------------------------------------------------------


@chip_app.command("info")
def chip_info(ctx: typer.Context) -> None:
    """EID, configured addresses (default SM-DP+, root SM-DS) and EUICCInfo2."""
    _run(ctx, _actions().chip_info)


@chip_app.command("defaultsmdp")
def chip_defaultsmdp(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="SM-DP+ address (host or host:port); '' clears it.")],
) -> None:
    """Set the eUICC's default SM-DP+ address (used by `profile download` without a code)."""
    _run(ctx, lambda s: _actions().chip_defaultsmdp(s, address))


@chip_app.command("purge")
def chip_purge(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """eUICCMemoryReset: delete every profile and the default SM-DP+ address. Asks first."""
    _run(ctx, lambda s: _actions().chip_purge(s, yes=yes))


# --- profile ------------------------------------------------------------------------------------------------

_PROFILE = Annotated[str, typer.Argument(help="ICCID or ISD-P AID.")]
_REFRESH = Annotated[
    bool, typer.Option("--refresh/--no-refresh", help="Ask the eUICC for a REFRESH (lpac: yes).")
]


@profile_app.command("list")
def profile_list(ctx: typer.Context) -> None:
    """The profiles on the eUICC."""
    _run(ctx, _actions().profile_list)


@profile_app.command("enable")
def profile_enable(ctx: typer.Context, profile: _PROFILE, refresh: _REFRESH = True) -> None:
    """Enable a profile (the enabled one, if any, is disabled)."""
    _run(ctx, lambda s: _actions().profile_operation(s, "enable", profile, refresh=refresh))


@profile_app.command("disable")
def profile_disable(ctx: typer.Context, profile: _PROFILE, refresh: _REFRESH = True) -> None:
    """Disable a profile."""
    _run(ctx, lambda s: _actions().profile_operation(s, "disable", profile, refresh=refresh))


@profile_app.command("delete")
def profile_delete(ctx: typer.Context, profile: _PROFILE) -> None:
    """Delete a (disabled) profile."""
    _run(ctx, lambda s: _actions().profile_operation(s, "delete", profile))


@profile_app.command("nickname")
def profile_nickname(
    ctx: typer.Context,
    iccid: Annotated[str, typer.Argument(help="ICCID of the profile.")],
    nickname: Annotated[str, typer.Argument(help="The new nickname ('' clears it).")],
) -> None:
    """Set a profile's nickname."""
    _run(ctx, lambda s: _actions().profile_nickname(s, iccid, nickname))


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
    discover: Annotated[
        bool,
        typer.Option(
            "--discover", help="Ask the SM-DS for an event first and download it (else the default SM-DP+)."
        ),
    ] = False,
    smds: Annotated[
        str | None, typer.Option("--smds", help="With --discover: this SM-DS instead of the eUICC's root.")
    ] = None,
) -> None:
    """Download a profile: from an activation code, a QR image, an SM-DP+ address (with -m an eventId from
    `profile discovery`), an SM-DS event (--discover), or the default SM-DP+."""
    actions = _actions()
    if smds is not None and not discover:
        from openrsp.lpa.core.errors import LpaInputError

        raise typer.Exit(actions.fail(LpaInputError("--smds goes with --discover"), ctx.obj.as_json))
    options = actions.DownloadOptions(
        activation_code, qr, smdp, matching_id, confirmation_code, imei, yes, discover, smds
    )
    _run(ctx, lambda s: actions.profile_download(s, options, quiet=ctx.obj.as_json))


@profile_app.command("discovery")
def profile_discovery(
    ctx: typer.Context,
    smds: Annotated[
        str | None, typer.Option("--smds", "-s", help="SM-DS address (default: the eUICC's root SM-DS).")
    ] = None,
    imei: Annotated[str | None, typer.Option("--imei", "-i", help="IMEI to announce to the SM-DS.")] = None,
) -> None:
    """Ask an SM-DS which events (RSP server, eventId) wait for this eUICC (ES11)."""
    _run(ctx, lambda s: _actions().profile_discovery(s, smds, imei))


# --- notification -------------------------------------------------------------------------------------------


@notification_app.command("list")
def notification_list(ctx: typer.Context) -> None:
    """The notifications waiting on the eUICC."""
    _run(ctx, _actions().notification_list)


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

    def action(session: LpaSession) -> Result:
        from openrsp.lpa.core.errors import LpaInputError

        if seq_numbers and process_all:
            raise LpaInputError("give sequence numbers or --all, not both")
        return _actions().notification_process(session, seq_numbers, remove=remove)

    _run(ctx, action)


@notification_app.command("remove")
def notification_remove(
    ctx: typer.Context,
    seq_numbers: Annotated[list[int], typer.Argument(help="Sequence numbers to remove without sending.")],
) -> None:
    """Remove notifications from the eUICC without sending them."""
    _run(ctx, lambda s: _actions().notification_remove(s, seq_numbers))
