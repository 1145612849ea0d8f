"""The LPA's terminal user interface: tables, the consent screen, prompts and the progress bar.

Results go to stdout; prompts, progress and warnings go to stderr, so that `--json` output stays one
clean object on stdout. Answers are read from the terminal when there is one, else a line of stdin
(scripts and tests pipe them in); end of input counts as "no".
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from openrsp.hexutil import to_hex
from openrsp.lpa.core.es10 import ConfiguredAddresses, NotificationMetadata, ProfileInfo, ProfileMetadata
from openrsp.lpa.core.lpd import DownloadResult, LoadProgress, Step
from openrsp.lpa.core.notifications import NotificationOutcome
from openrsp.lpa.core.ppr import PPR_MEANING
from openrsp.lpa.core.steps import STEP_WORDS
from openrsp.lpa.drivers.es11_client import EventEntry
from openrsp.lpa.ui.lpac_json import euicc_info2

# Piped output is not cut to 80 columns: ICCIDs and AIDs must stay whole for scripts and logs.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


# --- prompts ---------------------------------------------------------------------------------------


def read_answer(prompt: str, *, secret: bool = False) -> str | None:
    """One line from the user; None at end of input."""
    if sys.stdin.isatty():
        try:
            return getpass.getpass(prompt, stream=sys.stderr) if secret else input_line(prompt)
        except EOFError:
            return None
    err.print(prompt, end="", markup=False)
    sys.stderr.flush()  # the prompt has no newline: a script waiting for it must see it now
    line = sys.stdin.readline()
    err.print("")
    return line.rstrip("\r\n") if line else None


def input_line(prompt: str) -> str:
    err.print(prompt, end="", markup=False)
    return input()


def confirm(prompt: str) -> bool:
    answer = read_answer(f"{prompt} [y/N] ")
    return answer is not None and answer.strip().lower() in ("y", "yes")


def show_metadata(meta: ProfileMetadata) -> None:
    table = Table(title="Profile offered by the SM-DP+", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Name", meta.profile_name or "-")
    table.add_row("Provider", meta.service_provider_name or "-")
    table.add_row("Class", meta.profile_class)
    table.add_row("ICCID", meta.iccid or "-")
    table.add_row("Icon", f"{meta.icon_type} ({len(meta.icon)} bytes)" if meta.icon else "none")
    if meta.policy_rules:
        table.add_row("Policy", ", ".join(f"{r} ({PPR_MEANING.get(r, r)})" for r in meta.policy_rules))
    err.print(table)
    if meta.policy_consent_required:
        err.print("This eUICC's rules ask for your consent to the policy rules above.", markup=False)


def ask_consent(meta: ProfileMetadata) -> bool:
    show_metadata(meta)
    return confirm("Download and install this profile?")


def ask_confirmation_code(_meta: ProfileMetadata) -> str | None:
    return read_answer("The operator asks for a confirmation code: ", secret=True)


# --- progress --------------------------------------------------------------------------------------


def show_step(step: Step) -> None:
    words = STEP_WORDS.get(step)
    if words:
        err.print(f"[dim]{words}…[/dim]")


class LoadProgressBar:
    """The bar for the segmented load; appears with the first segment, so a failure before shows none."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None

    def __call__(self, state: LoadProgress) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("segment {task.fields[segment]}/{task.fields[segments]}"),
                BarColumn(),
                DownloadColumn(),
                console=err,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "load", total=state.bytes_total, segment=0, segments=state.segments
            )
        self._progress.update(
            self._task,
            total=state.bytes_total,
            completed=state.bytes_done,
            segment=state.segment,
            segments=state.segments,
        )

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def load_progress() -> Iterator[LoadProgressBar]:
    bar = LoadProgressBar()
    try:
        yield bar
    finally:
        bar.stop()


# --- results ---------------------------------------------------------------------------------------


def print_chip_info(eid: str, addresses: ConfiguredAddresses, info2: dict[str, Any]) -> None:
    info = euicc_info2(info2)
    memory = info["extCardResource"]
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("EID", eid)
    table.add_row("Default SM-DP+", addresses.default_dp_address or "-")
    table.add_row("Root SM-DS", addresses.root_ds_address or "-")
    table.add_row("SGP.22 version", info["svn"] or "-")
    table.add_row("Profile package version", info["profileVersion"] or "-")
    table.add_row("Firmware", info["euiccFirmwareVer"] or "-")
    table.add_row(
        "Free memory",
        f"{memory['freeNonVolatileMemory']} bytes" if memory["freeNonVolatileMemory"] is not None else "-",
    )
    table.add_row("Capabilities", ", ".join(info["rspCapability"] or []) or "-")
    table.add_row("CI keys (verify)", "\n".join(info["euiccCiPKIdListForVerification"]) or "-")
    table.add_row("CI keys (sign)", "\n".join(info["euiccCiPKIdListForSigning"]) or "-")
    out.print(table)


def print_profiles(profiles: list[ProfileInfo]) -> None:
    if not profiles:
        out.print("No profiles on the eUICC.")
        return
    table = Table()
    for title in ("ICCID", "State", "Nickname", "Provider", "Name", "Class", "ISD-P AID"):
        table.add_column(title)
    for p in profiles:
        state = "[green]enabled[/green]" if p.state == "enabled" else (p.state or "-")
        aid = to_hex(p.isdp_aid) if p.isdp_aid else "-"
        table.add_row(
            p.iccid or "-",
            state,
            p.nickname or "",
            p.service_provider_name or "",
            p.profile_name or "",
            p.profile_class,
            aid,
        )
    out.print(table)


def print_notifications(notifications: list[NotificationMetadata]) -> None:
    if not notifications:
        out.print("No pending notifications.")
        return
    table = Table()
    for title in ("Seq", "Operation", "ICCID", "SM-DP+"):
        table.add_column(title)
    for n in notifications:
        table.add_row(str(n.seq_number), n.operation, n.iccid or "-", n.address)
    out.print(table)


def print_outcomes(outcomes: list[NotificationOutcome], *, to_err: bool = False) -> None:
    console = err if to_err else out
    for o in outcomes:
        m = o.metadata
        what = (
            f"notification {m.seq_number} ({m.operation}{', ' + m.iccid if m.iccid else ''}) to {m.address}"
        )
        if o.delivered:
            console.print(f"{what}: delivered{', removed from the eUICC' if o.removed else ''}")
            if o.warning is not None:
                console.print(f"[yellow]  the SM-DP+ answered: {o.warning}[/yellow]")
        else:
            console.print(f"[yellow]{what}: kept on the eUICC, not delivered: {o.error}[/yellow]")
    if any(not o.delivered for o in outcomes):
        console.print("[yellow]send them later with `openrsp lpa notification process`[/yellow]")


def print_events(smds_address: str, events: list[EventEntry]) -> None:
    if not events:
        out.print(f"No events for this eUICC at {smds_address}.")
        return
    out.print(f"Events for this eUICC at {smds_address}:")
    for event in events:
        out.print(f"  {event.rsp_server_address}  eventId {event.event_id}")
    first = events[0]
    out.print(
        f"  download with `openrsp lpa profile download -s {first.rsp_server_address} -m {first.event_id}`"
    )


def print_download(result: DownloadResult) -> None:
    meta, install = result.metadata, result.install
    out.print(
        f"Profile {install.iccid or meta.iccid} installed: {meta.profile_name or '-'} ({meta.service_provider_name or '-'})"
    )
    out.print(
        f"  ISD-P AID {to_hex(install.isdp_aid) if install.isdp_aid else '-'}, class {meta.profile_class}"
    )
    out.print(f"  enable it with `openrsp lpa profile enable {install.iccid or meta.iccid}`")
