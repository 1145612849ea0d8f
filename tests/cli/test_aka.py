"""`openrsp aka` as a user runs it: TS 35.208 test set 1, JSON output, and bad input."""

import json

import pytest

SET1 = {
    "--k": "465b5ce8b199b49faa5f0a2ee238a6bc",
    "--rand": "23553cbe9637a89d218ae64dae47bf35",
    "--sqn": "ff9bb4d0b607",
    "--amf": "b9b9",
}
OP = "cdc202d5123e20f62b6d676ac72cb318"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
EXPECTED = {
    "opc": "CD63CB71954A9F4E48A5994E37A02BAF",
    "mac_a": "4A9FFAC354DFAFB3",
    "mac_s": "01CFAF9EC4E871E9",
    "res": "A54211D5E3BA50BF",
    "ck": "B40BA9A3C58B2A05BBF0D987B21BF8CB",
    "ik": "F769BCD751044604127672711C6D3441",
    "ak": "AA689C648370",
    "ak_star": "451E8BECA43B",
}


def args(**overrides: str | None) -> list[str]:
    options = {**SET1, **{f"--{name}": value for name, value in overrides.items()}}
    return [item for option, value in options.items() if value is not None for item in (option, value)]


@pytest.mark.parametrize("operator", [("--op", OP), ("--opc", OPC)], ids=["op", "opc"])
def test_test_set_1_as_json(cli, operator):
    result = cli("aka", *args(), *operator, "--json", check=True)
    assert json.loads(result.stdout) == EXPECTED


def test_readable_output_shows_every_value(cli):
    result = cli("aka", *args(), "--op", OP, check=True)
    for value in EXPECTED.values():
        assert value in result.stdout
    assert "MAC-A" in result.stdout and "RES" in result.stdout
    assert "55F328B43577B9B94A9FFAC354DFAFB3" in result.stdout  # AUTN
    assert result.stderr == ""


def test_hex_with_spaces_and_lowercase_is_accepted(cli):
    result = cli(
        "aka", *args(k="46 5b 5c e8 b1 99 b4 9f aa 5f 0a 2e e2 38 a6 bc"), "--opc", OPC, "--json", check=True
    )
    assert json.loads(result.stdout)["res"] == EXPECTED["res"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (args(k="465b5ce8b199b49faa5f0a2ee238a6") + ["--op", OP], "--k"),
        (args(k="zz5b5ce8b199b49faa5f0a2ee238a6bc") + ["--op", OP], "--k"),
        (args(rand="2355") + ["--op", OP], "--rand"),
        (args(sqn="ff9bb4d0b6") + ["--op", OP], "--sqn"),
        (args(amf="b9b9b9") + ["--op", OP], "--amf"),
        (args() + ["--op", OP[:-2]], "--op"),
        (args() + ["--opc", "not hex"], "--opc"),
        (args() + ["--op", OP, "--opc", OPC], "--op"),
        (args(), "--op"),
        (args(k=None) + ["--op", OP], "--k"),
        (args(sqn=None) + ["--op", OP], "--sqn"),
    ],
    ids=[
        "short-k",
        "bad-hex-k",
        "short-rand",
        "short-sqn",
        "long-amf",
        "short-op",
        "bad-opc",
        "op-and-opc",
        "no-op",
        "no-k",
        "no-sqn",
    ],
)
def test_bad_input_is_one_error_line(cli, argv, message):
    result = cli("aka", *argv, "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
