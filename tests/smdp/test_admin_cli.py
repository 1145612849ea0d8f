"""`openrsp smdp admin`: the order commands straight on the SM-DP+'s data."""

import json

import pytest
import zxingcpp
from PIL import Image

from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.inventory import import_packages


@pytest.fixture
def data(tmp_path, ts48_dir):
    database = open_database(load_config(data_dir=tmp_path / "data"))
    import_packages(database, [ts48_dir / "TS48V3-SAIP2-3-BERTLV-UNIQUE.der"], operator="acme")
    database.engine.dispose()
    return tmp_path / "data"


ICCID = "8949449999999990080"
EID = "89049032123451234512345678901235"


def test_order_confirm_with_code_and_qr_then_cancel(cli, data, tmp_path):
    admin = ["smdp", "admin", "--data", str(data), "--address", "smdp.example.com", "--json"]
    assert json.loads(cli(*admin, "order", "--iccid", ICCID, "--eid", EID, check=True).stdout) == {
        "iccid": ICCID
    }
    qr = tmp_path / "code.png"
    confirmed = json.loads(
        cli(
            *admin, "confirm", "--iccid", ICCID, "--cc", "8642", "--no-release", "--max-attempts", "4",
            "--expires", "2099-01-01T00:00:00Z", "--qr", str(qr), check=True,
        ).stdout
    )  # fmt: skip
    code = confirmed["activation_code"]
    assert (
        code == f"LPA:1$smdp.example.com${confirmed['matching_id']}$$1"
    )  # "1": a confirmation code is needed
    assert confirmed["eid"] == EID
    assert zxingcpp.read_barcodes(Image.open(qr))[0].text == code
    status = json.loads(cli(*admin, "status", "--iccid", ICCID, check=True).stdout)
    assert (status["state"], status["ccMaxAttempts"], status["expiresAt"], status["operator"]) == (
        "Confirmed",
        4,
        "2099-01-01T00:00:00Z",
        "acme",
    )
    assert json.loads(cli(*admin, "release", "--iccid", ICCID, check=True).stdout)["released"] is True
    cancelled = json.loads(
        cli(*admin, "cancel", "--iccid", ICCID, "--reason", "unavailable", check=True).stdout
    )
    assert cancelled == {"iccid": ICCID, "final_status": "Unavailable"}
    text = cli("smdp", "admin", "--data", str(data), "status", "--iccid", ICCID, check=True).stdout
    assert "state: Unavailable" in text


def test_failures_name_the_sgp22_code_in_words(cli, data):
    result = cli("smdp", "admin", "--data", str(data), "order", "--iccid", "8900000000000000000")
    assert result.returncode == 1
    assert result.stderr.startswith("error: downloadOrder failed: 8.2.1/3.9 (Profile ICCID - Unknown)")
    assert "Traceback" not in result.stderr
    usage = cli("smdp", "admin", "--data", str(data), "cancel", "--iccid", ICCID, "--reason", "lost")
    assert usage.returncode == 1 and "--reason" in usage.stderr


def test_confirm_without_a_known_address_changes_nothing(cli, data):
    cli("smdp", "admin", "--data", str(data), "order", "--iccid", ICCID, check=True)
    result = cli("smdp", "admin", "--data", str(data), "confirm", "--iccid", ICCID)
    assert result.returncode == 1 and "--address" in result.stderr
    status = json.loads(
        cli("smdp", "admin", "--data", str(data), "--json", "status", "--iccid", ICCID).stdout
    )
    assert status["state"] == "Allocated"
