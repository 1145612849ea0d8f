"""What each `openrsp lpa` command does, apart from parsing its options (cli/lpa.py does that).

Every action takes the command's LpaSession and returns a `Result`: the `data` that `--json` prints
in lpac's envelope, and a `show` that prints the same for a person. `run` prints one or the other,
or the failure (lpac's error object with --json, `error: ...` on stderr always) and gives the exit
code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openrsp.errors import OpenRSPError
from openrsp.lpa.core.activation_code import check_smdp_address, parse_activation_code
from openrsp.lpa.core.device import DeviceInfo
from openrsp.lpa.core.discovery import Discovery, discover
from openrsp.lpa.core.errors import Es9Failure, LpaInputError
from openrsp.lpa.core.lpd import CONFIRMATION_CODE_SUBJECT, Download, DownloadRequest, DownloadResult
from openrsp.lpa.core.notifications import NotificationOutcome, NotificationsKept
from openrsp.lpa.ui import lpac_json, lui
from openrsp.lpa.ui.qr import activation_code_from_qr
from openrsp.lpa.ui.session import LpaSession

CODE_REFUSED = "3.8"


@dataclass
class Result:
    data: Any  # what --json prints as payload.data
    show: Callable[[], None] = lambda: None  # the human-readable view
    outcomes: list[NotificationOutcome] = field(default_factory=list)


def run(session: LpaSession, as_json: bool, action: Callable[[LpaSession], Result]) -> int:
    """Run one command; print its result (or its failure); the exit code."""
    try:
        result = action(session)
    except (OpenRSPError, KeyboardInterrupt) as exc:
        return fail(OpenRSPError("interrupted") if isinstance(exc, KeyboardInterrupt) else exc, as_json)
    if as_json:
        print(json.dumps(lpac_json.success(result.data), ensure_ascii=False), flush=True)
    else:
        result.show()
        if result.outcomes:
            lui.print_outcomes(result.outcomes)
    return 0


def fail(error: Exception, as_json: bool) -> int:
    if as_json:
        print(json.dumps(lpac_json.failure(error), ensure_ascii=False), flush=True)
    lui.err.print(f"error: {error}", markup=False, highlight=False)
    for note in getattr(error, "__notes__", []):
        lui.err.print(f"  {note}", markup=False, highlight=False)
    return 1


# --- chip -------------------------------------------------------------------------------------------------


def chip_info(session: LpaSession) -> Result:
    es10 = session.es10
    eid, addresses, info2 = es10.get_eid(), es10.get_configured_addresses(), es10.get_euicc_info2()
    return Result(
        lpac_json.chip_info(eid, addresses, info2), lambda: lui.print_chip_info(eid, addresses, info2)
    )


def chip_defaultsmdp(session: LpaSession, address: str) -> Result:
    checked = check_smdp_address(address) if address else ""
    session.es10.set_default_dp_address(checked)
    words = f"Default SM-DP+ set to {checked}" if checked else "Default SM-DP+ cleared"
    return Result(None, lambda: lui.out.print(words))


def chip_purge(session: LpaSession, *, yes: bool) -> Result:
    if not yes and not lui.confirm("This deletes EVERY profile on the eUICC. Go on?"):
        raise LpaInputError(
            "memory reset not confirmed; nothing was deleted", step="es10c_euicc_memory_reset"
        )
    deleted = session.es10.memory_reset()
    outcomes = session.after_operation()
    words = "eUICC memory reset: all profiles deleted" if deleted else "eUICC memory reset: nothing to delete"
    return Result(_outcomes_data(outcomes), lambda: lui.out.print(words), outcomes)


# --- profile ----------------------------------------------------------------------------------------------


def profile_list(session: LpaSession) -> Result:
    profiles = session.es10.get_profiles_info()
    return Result([lpac_json.profile(p) for p in profiles], lambda: lui.print_profiles(profiles))


def profile_operation(session: LpaSession, operation: str, profile: str, *, refresh: bool = True) -> Result:
    """enable / disable / delete, then the notifications they produced (and any kept ones)."""
    es10 = session.es10
    call = {
        "enable": lambda: es10.enable_profile(profile, refresh),
        "disable": lambda: es10.disable_profile(profile, refresh),
        "delete": lambda: es10.delete_profile(profile),
    }[operation]
    call()
    outcomes = session.after_operation()
    data = {"iccid": profile} | _outcomes_data(outcomes)
    return Result(data, lambda: lui.out.print(f"Profile {profile} {operation}d."), outcomes)


def profile_nickname(session: LpaSession, iccid: str, nickname: str) -> Result:
    session.es10.set_nickname(iccid, nickname)
    return Result(
        {"iccid": iccid, "profileNickname": nickname},
        lambda: lui.out.print(f"Profile {iccid} renamed to {nickname!r}."),
    )


@dataclass(frozen=True)
class DownloadOptions:
    activation_code: str | None = None
    qr: Path | None = None
    smdp: str | None = None
    matching_id: str | None = None
    confirmation_code: str | None = None
    imei: str | None = None
    yes: bool = False
    discover: bool = False  # ask the root SM-DS for an event first (SGP.22 §3.6.3)
    smds: str | None = None  # with discover: another SM-DS than the eUICC's root


def profile_discovery(session: LpaSession, smds: str | None, imei: str | None) -> Result:
    """The events an SM-DS holds for this eUICC (lpac: `profile discovery [-s SMDS] [-i IMEI]`)."""
    found = _discover(session, smds, DeviceInfo.for_imei(imei))
    data = [lpac_json.event(e) for e in found.events]
    return Result(data, lambda: lui.print_events(found.smds_address, found.events))


def _discover(session: LpaSession, smds: str | None, device: DeviceInfo) -> Discovery:
    if smds is not None:
        address = check_smdp_address(smds, what="SM-DS address")
    else:
        address = session.es10.get_configured_addresses().root_ds_address or ""
        if not address:
            raise LpaInputError(
                "no SM-DS to ask: give -s, or create the eUICC with a root SM-DS address",
                step="es10a_get_euicc_configured_addresses",
            )
    return discover(session.es10, session.connect_smds, address, device)


def profile_download(session: LpaSession, options: DownloadOptions, *, quiet: bool = False) -> Result:
    request = (
        _discovered_request(session, options) if options.discover else download_request(session, options)
    )
    result = _download(session, request, yes=options.yes, quiet=quiet)
    outcomes = [result.notification] if result.notification else []
    outcomes += session.after_operation()
    data = lpac_json.download(result) | _outcomes_data(outcomes)
    return Result(data, lambda: lui.print_download(result), outcomes)


def _discovered_request(session: LpaSession, options: DownloadOptions) -> DownloadRequest:
    """--discover: the first event the SM-DS lists (eventId as matchingId), else the default SM-DP+."""
    if options.activation_code is not None or options.qr is not None or options.matching_id is not None:
        raise LpaInputError("--discover finds the server and eventId itself: leave out -a, --qr and -m")
    device = DeviceInfo.for_imei(options.imei)
    found = _discover(session, options.smds, device)
    if found.events:
        event = found.events[0]
        return DownloadRequest(
            event.rsp_server_address, event.event_id, options.confirmation_code, None, device
        )
    default_dp = session.es10.get_configured_addresses().default_dp_address
    if not default_dp:
        raise LpaInputError(
            f"no event for this eUICC at {found.smds_address}, and no default SM-DP+ is set",
            step="es11_authenticate_client",
        )
    return DownloadRequest(default_dp, None, options.confirmation_code, None, device)


def download_request(session: LpaSession, options: DownloadOptions) -> DownloadRequest:
    """Where to download from: activation code, QR image, SM-DP+ address, or the default SM-DP+."""
    given = [
        n
        for n, v in (("-a", options.activation_code), ("--qr", options.qr), ("-s", options.smdp))
        if v is not None
    ]
    if len(given) > 1:
        raise LpaInputError(f"give only one of -a, --qr and -s (got {', '.join(given)})")
    from_code = options.activation_code is not None or options.qr is not None
    if from_code and options.matching_id is not None:
        raise LpaInputError("the activation code already holds the matching ID: leave out -m")
    device = DeviceInfo.for_imei(options.imei)
    if options.activation_code is not None:
        code = parse_activation_code(options.activation_code)
    elif options.qr is not None:
        code = activation_code_from_qr(options.qr)
    else:
        code = None
    if code is not None:
        return DownloadRequest(
            code.smdp_address, code.matching_id, options.confirmation_code, code.smdp_oid, device
        )
    if options.smdp is not None:
        address = check_smdp_address(options.smdp)
    else:
        address = session.es10.get_configured_addresses().default_dp_address or ""
        if not address:
            raise LpaInputError(
                "no SM-DP+ to download from: give -a, --qr or -s, or set a default with `chip defaultsmdp`",
                step="es10a_get_euicc_configured_addresses",
            )
    return DownloadRequest(address, options.matching_id, options.confirmation_code, None, device)


def _download(session: LpaSession, request: DownloadRequest, *, yes: bool, quiet: bool) -> DownloadResult:
    """Download; when the SM-DP+ refuses a code the user typed, they may type another (a new session)."""
    consent: Callable[[Any], bool] = (lambda _meta: True) if yes else lui.ask_consent
    typed: list[str] = []  # codes typed at the prompt in this attempt (not given with -c)

    def ask_code(meta: Any) -> str | None:
        code = lui.ask_confirmation_code(meta)
        if code:
            typed.append(code)
        return code

    while True:
        typed.clear()
        es9 = session.connect(request.smdp_address)
        try:
            with nullcontext(None) if quiet else lui.load_progress() as progress:
                return Download(
                    session.es10,
                    es9,
                    request,
                    consent=consent,
                    confirmation_code=ask_code,
                    progress=progress,
                    on_step=None if quiet else lui.show_step,
                    notifications=session.notification_sender() if session.notify else None,
                ).run()
        except Es9Failure as exc:
            refused = exc.subject_code == CONFIRMATION_CODE_SUBJECT and exc.reason_code == CODE_REFUSED
            if not (typed and refused):
                raise
            lui.err.print(str(exc), markup=False)
            if not lui.confirm("The confirmation code was refused. Try again with another code?"):
                raise
            consent = lambda _meta: True  # noqa: E731 - the user already agreed to this profile
        finally:
            es9.close()


# --- notification -----------------------------------------------------------------------------------------


def notification_list(session: LpaSession) -> Result:
    pending = session.es10.list_notifications()
    return Result([lpac_json.notification(n) for n in pending], lambda: lui.print_notifications(pending))


def notification_process(session: LpaSession, seq_numbers: list[int] | None, *, remove: bool) -> Result:
    outcomes = session.notification_sender().process(seq_numbers or None, remove=remove)
    if any(not o.delivered for o in outcomes):
        raise NotificationsKept(outcomes)
    nothing = (lambda: lui.out.print("No pending notifications.")) if not outcomes else (lambda: None)
    return Result([lpac_json.outcome(o) for o in outcomes], nothing, outcomes)


def notification_remove(session: LpaSession, seq_numbers: list[int]) -> Result:
    missing = [seq for seq in seq_numbers if not session.es10.remove_notification(seq)]
    if missing:
        raise LpaInputError(
            f"the eUICC holds no notification {', '.join(map(str, missing))}",
            step="es10b_remove_notification_from_list",
        )
    words = f"Removed notification {', '.join(map(str, seq_numbers))}."
    return Result({"removed": seq_numbers}, lambda: lui.out.print(words))


def _outcomes_data(outcomes: list[NotificationOutcome]) -> dict[str, Any]:
    return {"notifications": [lpac_json.outcome(o) for o in outcomes]}
