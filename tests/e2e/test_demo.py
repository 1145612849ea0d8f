"""`openrsp demo` end to end: every Figure 7 step really happens, and the order ends Installed."""

from __future__ import annotations

import json
from pathlib import Path

from openrsp.lpa.ui.qr import read_qr_text

STEPS = [
    "pki",
    "inventory",
    "smdp",
    "network",
    "device",
    "order",
    "pp-attach",
    "maps-refusal",
    "download",
    "enable",
    "op-attach",
    "notifications",
    "smds-order",
    "smds-discovery",
]


def test_demo_json_every_step_checked_and_the_order_installed(cli) -> None:
    done = cli("demo", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)

    assert report["ok"] is True
    assert [s["name"] for s in report["steps"]] == STEPS
    for step in report["steps"]:
        assert step["ok"] is True and step["ms"] > 0 and step["detail"], step
    assert report["orderState"] == "Installed"
    assert report["activationCode"].startswith(f"LPA:1${report['smdpAddress']}$")

    steps = {s["name"]: s for s in report["steps"]}
    pp = steps["pp-attach"]["data"]["session"]
    assert pp["profile"] == "provisioning" and pp["imsi"] == "001019900000001"
    assert pp["bearers"][0]["apn"] == "rsp.provisioning" and pp["bearers"][0]["restricted"]
    op = steps["op-attach"]["data"]["session"]
    assert op["profile"] == "operational" and op["services"] == ["data:internet", "voice", "sms"]
    assert not op["bearers"][0]["restricted"]

    events = report["networkEvents"]
    refused = [e for e in events if e["kind"] == "connect-refused"]
    allowed = [e for e in events if e["kind"] == "connect-allowed"]
    assert [e["target"] for e in refused] == ["www.example.com:443"]
    assert allowed and all(e["target"] == report["smdpAddress"] for e in allowed)
    assert [e["kind"] for e in events if e["source"] == "gateway"][:4] == [
        "apn-replaced",
        "bearer",
        "voice-refused",
        "sms-refused",
    ]

    link = report["cardLink"]
    assert link["apdus"] > 0 and link["bytes"] > 0
    assert link["loadRealCardEstimateMs"] > 0 and link["model"]["bps"] == 115200

    notes = " ".join(steps["notifications"]["lines"])
    assert "install" in notes and "delivered" in notes

    # The SM-DS path: a second profile found by discovery at the root SM-DS, downloaded with no QR code.
    assert report["smdsOrderState"] == "Installed"
    assert report["smdsIccid"] != report["iccid"]
    discovery = " ".join(steps["smds-discovery"]["lines"])
    assert f"event {report['smdsEventId']} -> {report['smdpAddress']}" in discovery
    assert "no event" in discovery


def test_demo_text_trace_keeps_its_work_folder(cli, tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    done = cli("demo", "--keep", str(keep), "--link-bps", "9600", "--apdu-overhead-ms", "20", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Summary" in out and "order Installed" in out
    assert "SM-DS path" in out and "no QR code" in out
    assert "T=0 at 9600 bps" in out and "20 ms per APDU" in out
    assert "segment 1/" in out and "403" in out
    code = next(line.split()[-1] for line in out.splitlines() if line.strip().startswith("activation code"))
    assert read_qr_text(keep / "activation-code.png") == code
    assert (keep / "euicc" / "state.json").is_file() and (keep / "hss.sqlite").is_file()


def test_demo_refuses_a_used_folder(cli, tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    used = cli("demo", "--keep", str(tmp_path))
    assert used.returncode == 1 and "choose a new or empty folder" in used.stderr
    assert "Traceback" not in used.stderr
