"""The device screen's API against a real SM-DP+ and a real eUICC: what the page can do and show.

The page and `openrsp lpa` must always agree: every change made here is checked with the CLI, and
changes made with the CLI show up here.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from device_world import EventRecorder, Page, World, https_for, lpa_profiles
from PIL import Image

from openrsp.device.phone import Phone
from openrsp.device.server import running
from openrsp.euicc.store import read_state

pytestmark = pytest.mark.xdist_group("device-api")


def _download(page: Page, events: EventRecorder, code: str, **extra: object) -> dict:
    """Start a download, consent when asked, and return its last event."""
    job = page.ok("/api/downloads", {"activationCode": code, **extra})
    asked = events.wait_for(
        "download", lambda d: d["id"] == job["id"] and d["phase"] in ("consent", "done", "failed")
    )
    if asked["phase"] == "consent":
        page.ok(f"/api/downloads/{job['id']}/consent", {"accept": True})
    return events.wait_for(
        "download", lambda d: d["id"] == job["id"] and d["phase"] in ("done", "failed", "cancelled")
    )


def test_screen_shows_the_eid_and_what_the_cli_installed(world: World, card: Path, page: Page) -> None:
    order = world.order()
    world.lpa(card, "profile", "download", "-a", order.activation_code, "-y")

    screen = page.screen()

    assert screen["eid"] == read_state(card).eid
    assert screen["network"] == {
        "state": "no-service",
        "label": "No service",
        "detail": "no mobile network is configured for this device",
    }
    (profile,) = screen["profiles"]
    assert profile["iccid"] == order.offer.iccid
    assert (profile["name"], profile["spn"]) == (order.offer.name, order.offer.spn)
    assert (profile["state"], profile["profileClass"], profile["nickname"]) == ("disabled", "operational", "")


def test_download_asks_consent_with_the_metadata_and_streams_the_segmented_load(
    world: World, card: Path, page: Page, events: EventRecorder
) -> None:
    order = world.order()
    job = page.ok("/api/downloads", {"activationCode": order.activation_code})
    assert job["phase"] in ("starting", "running")

    asked = events.wait_for("download", lambda d: d["phase"] == "consent")
    assert asked["metadata"]["name"] == order.offer.name
    assert asked["metadata"]["spn"] == order.offer.spn
    assert asked["metadata"]["iccid"] == order.offer.iccid
    assert asked["smdp"] == world.address
    assert page.screen()["profiles"] == []  # nothing is installed before the user says yes

    page.ok(f"/api/downloads/{job['id']}/consent", {"accept": True})
    done = events.wait_for("download", lambda d: d["phase"] == "done")

    loads = [d["progress"] for d in events.of("download") if d["progress"]]
    segments = [p["segment"] for p in loads]
    assert segments == sorted(segments) and segments[0] == 1
    assert len(set(segments)) == loads[-1]["segments"] > 1  # each segment reported as it was loaded
    assert loads[-1]["bytesDone"] == loads[-1]["bytesTotal"]
    assert done["result"]["iccid"] == order.offer.iccid
    assert [n["delivered"] for n in done["notifications"]] == [True]  # the install notification went out
    screen = events.wait_for("screen", lambda s: len(s["profiles"]) == 1)
    assert screen["profiles"][0]["iccid"] == order.offer.iccid
    assert lpa_profiles(world, card)[order.offer.iccid]["profileState"] == "disabled"


def test_switch_rename_and_delete_are_what_the_cli_sees(world: World, card: Path, page: Page) -> None:
    first, second = world.orders(2)
    for order in (first, second):
        world.lpa(card, "profile", "download", "-a", order.activation_code, "-y")
    a, b = first.offer.iccid, second.offer.iccid

    page.ok(f"/api/profiles/{a}/enable")
    switched = page.ok(f"/api/profiles/{b}/enable")
    states = {p["iccid"]: p["state"] for p in switched["profiles"]}
    assert states == {a: "disabled", b: "enabled"}
    assert {i: p["profileState"] for i, p in lpa_profiles(world, card).items()} == states
    assert [n["delivered"] for n in switched["notifications"]] == [True, True]  # disable a, enable b

    page.ok(f"/api/profiles/{b}/nickname", {"nickname": "Work phone"})
    assert page.profile(b)["nickname"] == "Work phone"

    refused = page.post(f"/api/profiles/{b}/delete")
    assert refused.status_code == 409
    problem = refused.json()["problem"]
    assert problem["title"] == "Turn the profile off before deleting it."
    assert problem["code"] == "DeleteProfile result 2 (profileNotInDisabledState)"

    page.ok(f"/api/profiles/{a}/delete")
    page.ok(f"/api/profiles/{b}/disable")
    (left,) = lpa_profiles(world, card).values()
    assert (left["iccid"], left["profileState"], left["profileNickname"]) == (b, "disabled", "Work phone")


def test_a_refused_download_says_why_with_the_sgp22_code(
    world: World, card: Path, page: Page, events: EventRecorder
) -> None:
    code = f"LPA:1${world.address}$NO-SUCH-ORDER-42"
    failed = _download(page, events, code)

    assert failed["phase"] == "failed"
    assert failed["problem"]["title"] == (
        "The SM-DP+ does not know this activation code, or it has been used already."
    )
    assert failed["problem"]["code"] == "8.2.6 / 3.8 (Matching ID - Refused)"
    assert failed["problem"]["step"] == "es9p_authenticate_client"
    assert page.screen()["profiles"] == [] and lpa_profiles(world, card) == {}


def test_text_that_is_no_activation_code_is_refused_before_anything_starts(page: Page) -> None:
    response = page.post("/api/downloads", {"activationCode": "hello world"})

    assert response.status_code == 400
    problem = response.json()["problem"]
    assert problem["kind"] == "input"
    assert problem["title"].startswith("Activation code:")


def test_confirmation_code_is_asked_when_the_smdp_wants_one_and_a_wrong_one_can_be_retried(
    world: World, card: Path, page: Page, events: EventRecorder
) -> None:
    order = world.order(cc="2468")
    job = page.ok("/api/downloads", {"activationCode": order.activation_code})
    events.wait_for("download", lambda d: d["id"] == job["id"] and d["phase"] == "consent")
    page.ok(f"/api/downloads/{job['id']}/consent", {"accept": True})
    events.wait_for("download", lambda d: d["id"] == job["id"] and d["phase"] == "confirmation-code")

    page.ok(f"/api/downloads/{job['id']}/confirmation-code", {"code": "1111"})
    wrong = events.wait_for("download", lambda d: d["id"] == job["id"] and d["phase"] == "failed")
    assert wrong["problem"]["wrongCode"] is True
    assert wrong["problem"]["code"] == "8.2.7 / 3.8 (Confirmation Code - Refused)"
    assert wrong["problem"]["title"] == "The confirmation code is wrong."

    # Asking again: a new session with the code given up front, the user has consented already.
    again = page.ok(
        "/api/downloads",
        {"activationCode": order.activation_code, "confirmationCode": "2468", "consented": True},
    )
    done = events.wait_for("download", lambda d: d["id"] == again["id"] and d["phase"] in ("done", "failed"))
    assert done["phase"] == "done", done["problem"]
    assert not [
        d
        for d in events.of("download")
        if d["id"] == again["id"]
        and d["phase"] != "running"
        and d["phase"] in ("consent", "confirmation-code")
    ]
    assert order.offer.iccid in lpa_profiles(world, card)


def test_the_card_does_one_thing_at_a_time(
    world: World, card: Path, page: Page, events: EventRecorder
) -> None:
    installed = world.order()
    world.lpa(card, "profile", "download", "-a", installed.activation_code, "-y")
    pending = world.order()
    job = page.ok("/api/downloads", {"activationCode": pending.activation_code})
    events.wait_for("download", lambda d: d["phase"] == "consent")

    busy = page.post(f"/api/profiles/{installed.offer.iccid}/enable")
    assert busy.status_code == 409
    assert busy.json()["problem"]["kind"] == "busy"
    assert "busy with a profile download" in busy.json()["problem"]["title"]
    second = page.post("/api/downloads", {"activationCode": pending.activation_code})
    assert second.status_code == 409
    screen = page.screen()  # still answers, from the last look, with the download to resume
    assert screen["download"]["phase"] == "consent"
    assert [p["iccid"] for p in screen["profiles"]] == [installed.offer.iccid]

    page.ok(f"/api/downloads/{job['id']}/consent", {"accept": False})
    refused = events.wait_for("download", lambda d: d["phase"] == "cancelled")
    assert refused["problem"]["title"] == "The download was cancelled; nothing was installed."
    assert "session cancelled on the eUICC and the SM-DP+ (endUserRejection)" in refused["problem"]["detail"]

    page.ok(f"/api/profiles/{installed.offer.iccid}/enable")  # the card is free again
    assert set(lpa_profiles(world, card)) == {installed.offer.iccid}


def test_a_qr_picture_gives_its_activation_code(world: World, page: Page) -> None:
    order = world.order(qr=True)
    assert order.qr is not None

    response = page.http.post("/api/qr", content=order.qr.read_bytes(), headers={"Content-Type": "image/png"})

    assert response.status_code == 200, response.text
    assert response.json() == {"activationCode": order.activation_code}


def test_a_picture_without_a_qr_code_is_refused_in_plain_words(page: Page) -> None:
    blank = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(blank, "PNG")

    response = page.http.post("/api/qr", content=blank.getvalue(), headers={"Content-Type": "image/png"})

    assert response.status_code == 400
    assert response.json()["problem"]["title"] == "No QR code found in the picture."


def test_other_web_sites_cannot_drive_the_device(world: World, card: Path, page: Page) -> None:
    order = world.order()
    world.lpa(card, "profile", "download", "-a", order.activation_code, "-y")
    iccid = order.offer.iccid

    # What a cross-site form can send: no JSON content type.
    form = page.http.post(
        f"/api/profiles/{iccid}/delete", content="x", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 400
    # DNS rebinding: another host name pointing at loopback.
    rebound = page.http.post(f"/api/profiles/{iccid}/delete", json={}, headers={"Host": "evil.example"})
    assert rebound.status_code == 400

    assert set(lpa_profiles(world, card)) == {iccid}


def test_cancelling_while_the_package_loads_leaves_nothing_behind(world: World, card: Path) -> None:
    settings = https_for(world)
    slow = Phone.in_process(card, lambda: settings, apdu_delay=0.05)  # a reader's pace: time to press Cancel
    order = world.order()
    with running(slow) as url:
        page, events = Page(url), EventRecorder(url)
        try:
            job = page.ok("/api/downloads", {"activationCode": order.activation_code, "consented": True})
            events.wait_for("download", lambda d: d["phase"] == "loading" and d["progress"])
            page.ok(f"/api/downloads/{job['id']}/cancel")
            ended = events.wait_for("download", lambda d: d["phase"] in ("done", "failed", "cancelled"))
        finally:
            events.close()
            page.http.close()

    assert ended["phase"] == "cancelled"
    assert ended["progress"]["segment"] < ended["progress"]["segments"]
    assert "session cancelled on the eUICC and the SM-DP+ (postponed)" in ended["problem"]["detail"]
    assert lpa_profiles(world, card) == {}
