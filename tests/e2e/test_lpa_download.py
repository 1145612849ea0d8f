"""`openrsp lpa` end to end: a real HTTPS SM-DP+, an operator's orders, the virtual eUICC in-process.

Each test orders its own freshly generated profile, downloads it through the command line and then
checks what a user would see: the LPA's output, the eUICC's profiles and notifications, and the
order's state at the SM-DP+.
"""

from __future__ import annotations

import subprocess

import pytest
import segno
from lpa_support import (
    OPENRSP,
    euicc_fixture,  # noqa: F401 - fixture
    installed_iccids,
    lpa,
    lpa_ok,
    pending_notifications,
    pki_fixture,  # noqa: F401 - fixture
    smdp_fixture,  # noqa: F401 - fixture
)

from openrsp.pki.testpki import init_pki


def card(directory) -> list[str]:
    return ["--euicc", str(directory)]


def test_download_then_list_nickname_enable_disable_delete(smdp, euicc, pki):
    iccid = smdp.generate(spn="Openrsp Mobile", name="Openrsp Plan")
    admin = [
        str(OPENRSP),
        "smdp",
        "admin",
        "--data",
        str(smdp.data),
        "--credentials",
        str(pki),
        "--address",
        smdp.address,
    ]
    subprocess.run([*admin, "order", "--iccid", iccid], check=True, capture_output=True, timeout=120)
    confirmed = subprocess.run(
        [*admin, "confirm", "--iccid", iccid], check=True, capture_output=True, text=True, timeout=120
    )
    code = confirmed.stdout.strip()
    assert code.startswith(f"LPA:1${smdp.address}$")

    downloaded = lpa_ok("--json", "profile", "download", "-a", code, "--yes", card=card(euicc)).data
    assert downloaded["iccid"] == iccid
    assert downloaded["isdpAid"].startswith("A0000005591010FFFFFFFF89")
    assert downloaded["profile"]["serviceProviderName"] == "Openrsp Mobile"
    assert downloaded["profile"]["profileName"] == "Openrsp Plan"
    [install] = downloaded["notifications"]
    assert (install["profileManagementOperation"], install["delivered"], install["removed"]) == (
        "install",
        True,
        True,
    )
    assert install["notificationAddress"] == smdp.address
    assert smdp.state(iccid) == "Installed"
    assert pending_notifications(euicc) == []

    [listed] = lpa_ok("--json", "profile", "list", card=card(euicc)).data
    assert listed == {
        "iccid": iccid,
        "isdpAid": downloaded["isdpAid"],
        "profileState": "disabled",
        "profileNickname": None,
        "serviceProviderName": "Openrsp Mobile",
        "profileName": "Openrsp Plan",
        "iconType": "none",
        "icon": None,
        "profileClass": "operational",
    }

    lpa_ok("profile", "nickname", iccid, "Travel SIM", card=card(euicc))
    enabled = lpa_ok("--json", "profile", "enable", iccid, card=card(euicc)).data
    assert [(n["profileManagementOperation"], n["delivered"]) for n in enabled["notifications"]] == [
        ("enable", True)
    ]
    table = lpa_ok("profile", "list", card=card(euicc)).stdout
    assert iccid in table and "Travel SIM" in table and "enabled" in table

    disabled = lpa_ok("profile", "disable", downloaded["isdpAid"], card=card(euicc))  # by AID, as lpac allows
    assert "disabled" in disabled.stdout and "delivered" in disabled.stdout
    deleted = lpa_ok("--json", "profile", "delete", iccid, card=card(euicc)).data
    assert [n["profileManagementOperation"] for n in deleted["notifications"]] == ["delete"]
    assert lpa_ok("--json", "profile", "list", card=card(euicc)).data == []
    assert installed_iccids(euicc) == [] and pending_notifications(euicc) == []


def test_notifications_list_process_remove(smdp, euicc):
    iccid = smdp.generate()
    code = smdp.order(iccid)
    lpa_ok("--no-notify", "profile", "download", "-a", code, "--yes", card=card(euicc))
    assert smdp.state(iccid) == "Downloaded"  # the SM-DP+ has not heard of the installation yet

    [install] = lpa_ok("--json", "notification", "list", card=card(euicc)).data
    assert install == {
        "seqNumber": install["seqNumber"],
        "profileManagementOperation": "install",
        "notificationAddress": smdp.address,
        "iccid": iccid,
    }
    seq = install["seqNumber"]
    [sent] = lpa_ok("--json", "notification", "process", str(seq), card=card(euicc)).data
    assert (sent["seqNumber"], sent["delivered"], sent["removed"]) == (seq, True, False)
    assert smdp.state(iccid) == "Installed"
    assert [n["seqNumber"] for n in lpa_ok("--json", "notification", "list", card=card(euicc)).data] == [seq]

    lpa_ok("--no-notify", "profile", "enable", iccid, card=card(euicc))
    listed = lpa_ok("notification", "list", card=card(euicc)).stdout
    assert "install" in listed and "enable" in listed
    enable_seq = max(n for n, _ in pending_notifications(euicc))
    lpa_ok("notification", "remove", str(enable_seq), card=card(euicc))
    assert pending_notifications(euicc) == [(seq, "install")]

    missing = lpa("--json", "notification", "remove", "9999", card=card(euicc))
    assert missing.returncode == 1
    assert missing.payload["code"] == -1 and "9999" in missing.payload["data"]

    processed = lpa_ok("--json", "notification", "process", "--all", "--remove", card=card(euicc)).data
    assert [(n["seqNumber"], n["delivered"], n["removed"]) for n in processed] == [(seq, True, True)]
    assert pending_notifications(euicc) == []
    assert lpa_ok("--json", "notification", "process", card=card(euicc)).data == []


def test_confirmation_code_wrong_then_right(smdp, euicc):
    iccid = smdp.generate()
    code = smdp.order(iccid, cc="4711")
    assert code.endswith("$$1")

    wrong = lpa("--json", "profile", "download", "-a", code, "-c", "1234", "--yes", card=card(euicc))
    assert wrong.returncode == 1
    assert wrong.payload["message"] == "es9p_get_bound_profile_package"
    assert wrong.payload["details"]["subjectCode"] == "8.2.7"
    assert wrong.payload["details"]["reasonCode"] == "3.8"
    assert "Confirmation Code - Refused" in wrong.payload["data"]
    assert "session cancelled on the eUICC" in wrong.payload["data"]
    assert installed_iccids(euicc) == []
    assert smdp.state(iccid) == "Released"  # the user may try again

    right = lpa_ok("--json", "profile", "download", "-a", code, "-c", "4711", "--yes", card=card(euicc)).data
    assert right["iccid"] == iccid
    assert smdp.state(iccid) == "Installed"


def test_confirmation_code_typed_wrong_then_right_in_one_run(smdp, euicc):
    iccid = smdp.generate()
    code = smdp.order(iccid, cc="2468")
    # consent, a wrong code, "try again?", the right code
    run = lpa_ok("profile", "download", "-a", code, card=card(euicc), stdin="y\n1111\ny\n2468\n")
    assert "Download and install this profile?" in run.stderr
    assert "confirmation code" in run.stderr.lower() and "refused" in run.stderr
    assert f"Profile {iccid} installed" in run.stdout
    assert installed_iccids(euicc) == [iccid]
    assert smdp.state(iccid) == "Installed"


def test_user_refusal_cancels_on_both_sides(smdp, euicc):
    iccid = smdp.generate(spn="Refused Mobile", name="Refused Plan")
    code = smdp.order(iccid)
    run = lpa("profile", "download", "-a", code, card=card(euicc), stdin="n\n")
    assert run.returncode == 1
    assert (
        "Refused Plan" in run.stderr and "Refused Mobile" in run.stderr and iccid in run.stderr
    )  # consent screen
    assert "refused the profile" in run.stderr
    assert "cancelled on the eUICC and the SM-DP+ (endUserRejection)" in run.stderr
    assert installed_iccids(euicc) == [] and pending_notifications(euicc) == []
    assert smdp.state(iccid) == "Error"  # the operator has to look at a rejected download


def test_qr_image_and_default_smdp(smdp, euicc, tmp_path):
    iccid = smdp.generate()
    image = tmp_path / "code.png"
    segno.make(smdp.order(iccid), micro=False).save(str(image), scale=6)
    assert (
        lpa_ok("--json", "profile", "download", "--qr", str(image), "--yes", card=card(euicc)).data["iccid"]
        == iccid
    )

    # The default SM-DP+ use case: an order bound to this EID, no activation code at all.
    eid = lpa_ok("--json", "chip", "info", card=card(euicc)).data["eidValue"]
    other = smdp.generate()
    smdp.order(other, eid=eid, matching_id="")
    lpa_ok("chip", "defaultsmdp", smdp.address, card=card(euicc))
    info = lpa_ok("--json", "chip", "info", card=card(euicc)).data
    assert info["EuiccConfiguredAddresses"]["defaultDpAddress"] == smdp.address
    assert lpa_ok("--json", "profile", "download", "--yes", card=card(euicc)).data["iccid"] == other
    assert sorted(installed_iccids(euicc)) == sorted([iccid, other])


def test_chip_info_and_purge(smdp, euicc, pki):
    info = lpa_ok("--json", "chip", "info", card=card(euicc)).data
    assert len(info["eidValue"]) == 32 and info["eidValue"].isdigit()
    info2 = info["EUICCInfo2"]
    assert info2["svn"] == "2.2.2"
    assert all(k == k.upper() and len(k) == 40 for k in info2["euiccCiPKIdListForVerification"])
    assert info2["extCardResource"]["freeNonVolatileMemory"] > 0
    assert "EID" in lpa_ok("chip", "info", card=card(euicc)).stdout

    lpa_ok("profile", "download", "-a", smdp.order(smdp.generate()), "--yes", card=card(euicc))
    refused = lpa("chip", "purge", card=card(euicc), stdin="n\n")
    assert refused.returncode == 1 and "not confirmed" in refused.stderr
    assert len(installed_iccids(euicc)) == 1
    lpa_ok("chip", "purge", "--yes", card=card(euicc))
    assert installed_iccids(euicc) == []


@pytest.mark.parametrize(
    ("args", "message", "words"),
    [
        (["-a", "LPA:2$x$y"], "activation_code", "format"),
        (["-a", "LPA:1$host$MID", "-s", "host"], "input", "only one of"),
        ([], "es10a_get_euicc_configured_addresses", "no SM-DP+"),
        (["-s", "bad host!"], "smdp", "not a host name"),
        (["-s", "smdp.openrsp.test", "--imei", "123"], "imei", "IMEI"),
    ],
)
def test_bad_input_is_refused_plainly(euicc, args, message, words):
    run = lpa("--json", "profile", "download", *args, "--yes", card=card(euicc))
    assert run.returncode == 1
    assert run.payload["code"] == -1 and run.payload["message"] == message
    assert words in run.payload["data"]
    assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr


def test_untrusted_smdp_certificate_stops_before_anything_happens(smdp, euicc, tmp_path):
    iccid = smdp.generate()
    code = smdp.order(iccid)
    stranger = init_pki(tmp_path / "stranger", curves=["nist"])
    run = lpa(
        "--ci",
        str(stranger.cert_path("nist", "ci")),
        "profile",
        "download",
        "-a",
        code,
        "--yes",
        card=card(euicc),
    )
    assert run.returncode == 1
    assert "TLS certificate not trusted" in run.stderr
    assert installed_iccids(euicc) == []
    assert smdp.state(iccid) == "Released"
