"""Every command answers a missing path, a wrong kind of file and a malformed value with one `error:`
line (or a usage error) and a non-zero exit, never a Python traceback.

The table names every command of `openrsp`: a command added without bad-input cases fails
`test_every_command_has_bad_input_cases`.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import pytest
import typer

from openrsp.cli import main as cli_main

MISSING = "/nonexistent-openrsp/missing"
# Placeholders replaced per test: {dir} an empty folder, {junk} a file of garbage, {missing} a path
# that does not exist.
CASES: dict[str, list[list[str]]] = {
    "version": [],
    "aka": [
        ["--k", "zz", "--opc", "00" * 16, "--rand", "00" * 16, "--sqn", "00" * 6, "--amf", "0000"],
        ["--k", "00" * 15, "--op", "00" * 16, "--rand", "00" * 16, "--sqn", "00" * 6, "--amf", "0000"],
    ],
    "demo": [["--link-bps", "-5"], ["--keep", "{junk}"]],
    "bench": [["--section", "no-such-section", "--quick"], ["--duration", "-1", "--quick"]],
    "pki init": [["{junk}"], ["{dir}/p", "--eid", "XYZ"], ["{dir}/q", "--curve", "rsa"]],
    "pki verify": [
        ["{missing}", "--ci", "{missing}"],
        ["{junk}", "--ci", "{junk}"],
        ["{dir}", "--ci", "{dir}"],
    ],
    "pki show": [["{missing}"], ["{junk}"], ["{dir}"]],
    "euicc serve": [["{missing}"], ["{dir}"], ["{junk}", "--vpcd", "host:notaport"]],
    "euicc create": [
        ["{dir}/e", "--pki", "{missing}"],
        ["{dir}/f", "--sgp26", "{junk}"],
        ["{dir}/g", "--pki", "{dir}", "--eid", "123"],
    ],
    "euicc info": [["{missing}"], ["{dir}"], ["{junk}"]],
    "smdp serve": [
        ["--config", "{missing}"],
        ["--config", "{junk}"],
        ["--data", "{dir}/d", "--credentials", "{missing}"],
        ["--data", "{dir}/d", "--port", "99999"],
    ],
    "smdp profile import": [["{missing}", "--data", "{dir}/d"], ["{junk}", "--data", "{dir}/d"]],
    "smdp profile generate": [
        ["--iccid", "abc", "--data", "{dir}/d"],
        ["--csv", "{missing}", "--data", "{dir}/d"],
        ["--csv", "{junk}", "--data", "{dir}/d"],
    ],
    "smdp profile list": [["--config", "{missing}"], ["--db", "nosuchdb://x"]],
    "smdp profile remove": [["12345", "--config", "{junk}"], ["xyz", "--data", "{dir}/d"]],
    "smdp keys import": [
        ["--credentials", "{missing}", "--to", "pkcs11:token=x?module-path={missing}"],
        ["--credentials", "{dir}", "--to", "not-a-uri"],
    ],
    "smdp keys list": [["--keys", "not-a-uri"], ["--keys", "pkcs11:token=x?module-path={junk}"]],
    "smdp keys rotate-seal": [["--data", "{dir}/d", "--keys", "bad"], ["--config", "{junk}"]],
    "smdp admin order": [["--iccid", "abc"]],
    "smdp admin confirm": [["--iccid", "abc"], ["--iccid", "8900000000000000001", "--expires", "notadate"]],
    "smdp admin release": [["--iccid", "abc"]],
    "smdp admin cancel": [["--iccid", "abc", "--reason", "nonsense"]],
    "smdp admin status": [["--iccid", "abc"]],
    "operator order": [["--iccid", "abc"]],
    "operator confirm": [["--iccid", "abc"], ["--iccid", "8900000000000000001", "--qr", "{dir}"]],
    "operator release": [["--iccid", "abc"]],
    "operator cancel": [["--iccid", "abc", "--reason", "nonsense"]],
    "operator status": [["--iccid", "abc"]],
    "lpa chip info": [["@missing"], ["@dir"], ["@junk"]],
    "lpa chip defaultsmdp": [["@missing", "smdp.example.com"], ["@dir", "bad host name!"]],
    "lpa chip purge": [["@missing", "--yes"], ["@dir", "--yes"]],
    "lpa profile list": [["@missing"], ["@dir"], ["@junk"]],
    "lpa profile enable": [["@missing", "8900000000000000001"], ["@dir", "not-an-iccid"]],
    "lpa profile disable": [["@missing", "8900000000000000001"], ["@dir", "not-an-iccid"]],
    "lpa profile delete": [["@missing", "8900000000000000001"], ["@dir", "not-an-iccid"]],
    "lpa profile nickname": [["@missing", "8900000000000000001", "x"], ["@dir", "not-an-iccid", "x"]],
    "lpa profile download": [
        ["@missing", "-a", "LPA:1$smdp.example$X", "--yes"],
        ["@dir", "-a", "not an activation code", "--yes"],
        ["@dir", "--qr", "{junk}", "--yes"],
        ["@dir", "--qr", "{missing}", "--yes"],
    ],
    "lpa notification list": [["@missing"], ["@dir"]],
    "lpa notification process": [["@missing", "--all"], ["@dir", "notanumber"]],
    "lpa notification remove": [["@missing", "1"], ["@dir", "notanumber"]],
    "network attach": [["--db", "{missing}", "--euicc", "{missing}"], ["--db", "{junk}", "--euicc", "{dir}"]],
    "network maps": [["--smdp", "not a url", "--port", "-1"]],
    "network hss add": [
        ["--db", "{dir}/h.db", "--imsi", "abc", "--ki", "00" * 16, "--opc", "00" * 16],
        ["--db", "{junk}", "--imsi", "001010000000001", "--ki", "zz", "--opc", "00" * 16],
    ],
    "network hss list": [["--db", "{missing}"], ["--db", "{junk}"]],
    "lpa profile discovery": [["@missing"], ["@dir", "-s", "bad host!"]],
    "pki issue smds": [
        ["--ci-cert", "{missing}", "--ci-key", "{missing}", "--host", "x", "{dir}/o"],
        ["--ci-cert", "{junk}", "--ci-key", "{junk}", "--host", "x", "{dir}/p"],
    ],
    "smds events list": [["--db", "nosuch://x"], ["--config", "{junk}"]],
    "smds events remove": [["--data", "{dir}/d", "no-such-event"], ["--config", "{missing}", "x"]],
    "smds serve": [["--config", "{missing}"], ["--data", "{dir}/d", "--credentials", "{missing}"]],
    "lab list": [["--cases", "no-such-case"]],
    "lab run": [
        ["--dut", "nonsense"],
        ["--card", "bogus"],
        ["--sgp26", "{missing}"],
        ["--dut", "command"],
        ["--cases", "no-such-case"],
    ],
    "lab serve": [["--sgp26", "{junk}"], ["--port", "-3"]],
    "device serve": [["{missing}", "--port", "0"], ["{dir}", "--port", "0"], ["{junk}", "--port", "0"]],
}


def _leaf_commands() -> list[str]:
    cli_main._mount()
    names: list[str] = []

    def walk(command, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            names.append(" ".join(path))

    walk(typer.main.get_command(cli_main.app), [])
    return names


def test_every_command_has_bad_input_cases():
    missing = sorted(set(_leaf_commands()) - set(CASES))
    assert not missing, f"commands without bad-input cases in this table: {missing}"


def _argv(command: str, args: list[str], tmp_path: Path) -> list[str]:
    folder = tmp_path / "empty"
    folder.mkdir(exist_ok=True)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\xffnot what you think\x30\x82\xff\xff")
    places = {"{dir}": str(folder), "{junk}": str(junk), "{missing}": MISSING}
    words = command.split()
    out: list[str] = []
    for arg in args:
        if arg.startswith("@"):  # the LPA's card: a --euicc folder placed before the verb
            words = [words[0], "--euicc", places["{" + arg[1:] + "}"], *words[1:]]
            continue
        for key, value in places.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return [*words, *out]


@pytest.mark.parametrize(
    ("command", "args"),
    [(command, args) for command, variants in CASES.items() for args in variants],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_bad_input_gives_one_error_line(command, args, tmp_path, monkeypatch, capsys):
    argv = _argv(command, args, tmp_path)
    monkeypatch.setattr(sys, "argv", ["openrsp", *argv])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)
    try:
        cli_main.run()
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # what a user would see as a traceback
        pytest.fail(f"openrsp {' '.join(argv)} raised:\n{traceback.format_exc()}")
    else:
        code = 0
    err = capsys.readouterr().err
    assert code not in (0, None), f"openrsp {' '.join(argv)} accepted bad input"
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no error message"
    if code == 1:
        assert lines[-1].startswith("error: "), err
        assert len(lines) == 1, err
    else:
        assert code == 2 and ("Usage:" in err or "Error" in err), err
