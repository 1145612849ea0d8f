"""`openrsp network`: provisioning the HSS and attaching an eUICC folder, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from network_support import OP_IMSI, PP_IMSI, subscription

from openrsp.hexutil import to_hex


def _add(cli, db: Path, sub, *extra: str):
    return cli(
        "network", "hss", "add", "--db", str(db), "--imsi", sub.imsi,
        "--ki", to_hex(sub.ki), "--opc", to_hex(sub.opc), *extra,
    )  # fmt: skip


def test_hss_add_and_list_never_show_keys(cli, tmp_path: Path) -> None:
    sub = subscription(OP_IMSI)
    db = tmp_path / "hss.sqlite"
    assert _add(cli, db, sub, "--apn", "internet", "--voice").returncode == 0
    listed = cli("network", "hss", "list", "--db", str(db), "--json", check=True)
    assert json.loads(listed.stdout) == [
        {"imsi": OP_IMSI, "sqn": 0, "amf": "8000", "dataApns": ["internet"], "voice": True, "sms": False}
    ]
    assert to_hex(sub.ki) not in listed.stdout and to_hex(sub.opc) not in listed.stdout


def test_attach_pp_from_the_command_line(cli, make_card, tmp_path: Path) -> None:
    sub = subscription(PP_IMSI, profile_class="provisioning")
    card = make_card(sub)
    db = tmp_path / "hss.sqlite"
    _add(cli, db, sub)
    done = cli(
        "network", "attach", "--db", str(db), "--euicc", str(card), "--pp-range", "0010199*",
        "--apn", "internet", "--json", check=True,
    )  # fmt: skip
    session = json.loads(done.stdout)
    assert session["profile"] == "provisioning"
    bearer = session["bearers"][0]
    assert (
        bearer["apn"] == "rsp.provisioning" and bearer["requestedApn"] == "internet" and bearer["restricted"]
    )


def test_attach_with_a_wrong_key_fails_in_one_line(cli, make_card, tmp_path: Path) -> None:
    sub = subscription(OP_IMSI)
    card = make_card(sub)
    db = tmp_path / "hss.sqlite"
    _add(cli, db, subscription(OP_IMSI), "--apn", "internet")  # same IMSI, other keys
    done = cli("network", "attach", "--db", str(db), "--euicc", str(card))
    assert done.returncode == 1
    assert "error: attach rejected: #20 MAC failure" in done.stderr
    assert "Traceback" not in done.stderr
