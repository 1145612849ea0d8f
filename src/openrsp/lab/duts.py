"""Drivers for the device under test (DUT): each performs a case's steps and says how each went.

- `OpenrspDut`: the project's own LPA (`openrsp lpa`), run in this process on the lab's card.
- `CommandDut`: any command-line LPA through a template. With `{command}` in it the lab fills in
  lpac's verbs (`profile download -a CODE [-c CC]`, `profile download --discover`, `profile enable
  ICCID`, ...), so downloads, SM-DS discovery and profile management all work; with only `{activation_code}` (and `{confirmation_code}`) it can
  download and nothing else. The command's stdin gets "y": the user agrees to the download.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable, Mapping
from typing import Protocol

from openrsp.errors import InputError
from openrsp.lab.model import Action, Step, StepOutcome

DOWNLOAD, MANAGE, DEFAULT, DISCOVER = "download", "manage", "default", "discover"
_NEEDS = {
    Action.DOWNLOAD: DOWNLOAD,
    Action.DOWNLOAD_DEFAULT: DEFAULT,
    Action.DISCOVER: DISCOVER,
    Action.ENABLE: MANAGE,
    Action.DISABLE: MANAGE,
    Action.DELETE: MANAGE,
}
STEP_TIMEOUT = 180.0


class Dut(Protocol):
    name: str
    capabilities: frozenset[str]

    def cannot(self, step: Step) -> str | None:
        """Why this DUT cannot perform the step (asked for every step before a case runs), or None."""
        ...

    def start(self) -> str | None:
        """Get ready for a campaign; the URL of a page for the tester, if the DUT has one."""
        ...

    def finish(self, summary: dict[str, int]) -> None:
        """The campaign is over (its counts)."""
        ...

    def stop(self) -> None: ...

    def run(self, case_id: str, steps: tuple[Step, ...], after_step: Callable[[], None]) -> tuple[
        list[StepOutcome], str | None
    ]:  # fmt: skip
        """Perform the steps, calling `after_step()` after each; (their outcomes, the tester's last
        answer or None)."""
        ...


def lpac_args(step: Step) -> list[str]:
    """The lpac command line (after `lpac`) for one step; `openrsp lpa` takes the same."""
    if step.action is Action.DOWNLOAD:
        args = ["profile", "download", "-a", step.activation_code or ""]
        return args + (["-c", step.confirmation_code] if step.confirmation_code is not None else [])
    if step.action is Action.DOWNLOAD_DEFAULT:
        return ["profile", "download"]
    if step.action is Action.DISCOVER:  # the root SM-DS's first event (eventId as matchingId)
        return ["profile", "download", "--discover"]
    return ["profile", step.action.value, step.iccid or ""]


class _Sequential:
    """Runs the steps one by one; a step it cannot do is skipped and said so."""

    perform: Callable[[Step], StepOutcome]  # each driver's own way of carrying out one step

    name = ""
    capabilities: frozenset[str] = frozenset()

    def start(self) -> str | None:
        return None

    def finish(self, summary: dict[str, int]) -> None:
        pass

    def stop(self) -> None:
        pass

    def cannot(self, step: Step) -> str | None:
        if _NEEDS[step.action] not in self.capabilities:
            return f"the {self.name} DUT cannot {step.action.value}"
        return None

    def run(self, case_id: str, steps: tuple[Step, ...], after_step: Callable[[], None]) -> tuple[
        list[StepOutcome], str | None
    ]:  # fmt: skip
        outcomes: list[StepOutcome] = []
        for step in steps:
            if step.retry and outcomes and outcomes[-1].ok:
                break  # the first attempt worked: no second one
            outcomes.append(self.perform(step))
            after_step()
        return outcomes, None


class OpenrspDut(_Sequential):
    """`openrsp lpa --euicc DIR` (or `--pcsc READER`) in this process, as a user would type it."""

    name = "openrsp"
    capabilities = frozenset({DOWNLOAD, MANAGE, DEFAULT, DISCOVER})

    def __init__(self, card_args: list[str], resolve: str, *, timeout: float = 30.0) -> None:
        self.card_args = card_args
        self.resolve = resolve
        self.timeout = timeout

    def perform(self, step: Step) -> StepOutcome:
        from typer.testing import CliRunner

        from openrsp.cli.lpa import app

        args = [*self.card_args, "--json", "--resolve", self.resolve, "--timeout", str(self.timeout)]
        args += lpac_args(step) + (
            ["--yes"] if step.action in (Action.DOWNLOAD, Action.DOWNLOAD_DEFAULT, Action.DISCOVER) else []
        )
        result = CliRunner().invoke(app, args, input="")
        return StepOutcome(step, result.exit_code == 0, _lpac_words(result.stdout, result.stderr))


class CommandDut(_Sequential):
    name = "command"

    def __init__(self, template: str, values: Mapping[str, str]) -> None:
        if "{command}" not in template and "{activation_code}" not in template:
            raise InputError("--dut-cmd needs {command} (lpac verbs) or {activation_code} in it")
        self.template = template
        self.values = dict(values)
        if "{command}" in template:
            self.capabilities = frozenset({DOWNLOAD, MANAGE, DEFAULT, DISCOVER})
        else:
            self.capabilities = frozenset({DOWNLOAD})

    def command_line(self, step: Step) -> list[str]:
        values = {k: shlex.quote(v) for k, v in self.values.items()}
        values["command"] = shlex.join(lpac_args(step))
        values["activation_code"] = shlex.quote(step.activation_code or "")
        values["confirmation_code"] = shlex.quote(step.confirmation_code or "")
        values["iccid"] = shlex.quote(step.iccid or "")
        try:
            return shlex.split(self.template.format(**values))
        except (KeyError, ValueError, IndexError) as exc:
            raise InputError(f"--dut-cmd: cannot fill in the template: {exc}") from None

    def cannot(self, step: Step) -> str | None:
        plain = "{command}" not in self.template
        if plain and step.confirmation_code is not None and "{confirmation_code}" not in self.template:
            return "the --dut-cmd template has no {confirmation_code}"
        return super().cannot(step)

    def perform(self, step: Step) -> StepOutcome:
        argv = self.command_line(step)
        try:
            done = subprocess.run(argv, input="y\n", capture_output=True, text=True, timeout=STEP_TIMEOUT)
        except FileNotFoundError:
            raise InputError(f"--dut-cmd: {argv[0]}: command not found") from None
        except subprocess.TimeoutExpired:
            return StepOutcome(step, False, f"no answer within {STEP_TIMEOUT:g} s")
        return StepOutcome(step, done.returncode == 0, _lpac_words(done.stdout, done.stderr))


def _lpac_words(stdout: str, stderr: str) -> str:
    """The message of lpac's JSON envelope when there is one, else the last line the command said."""
    for line in reversed(stdout.splitlines()):
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get("payload"), dict):
            payload = document["payload"]
            return f"{payload.get('message', '')} (code {payload.get('code')})"
    lines = [line for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
