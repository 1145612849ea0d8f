"""The event flow end to end over real HTTPS, with real processes: an operator confirms an order with an
SM-DS address, the device's LPA discovers the event (ES11) and downloads it, the SM-DP+ deletes the
event; the same through an alternative SM-DS that forwards to its root (ES15); an unreachable SM-DS."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lpa_support import Smdp, installed_iccids, lpa
from smds_support import Smds, run, wait_for

from openrsp.euicc.store import create_euicc
from openrsp.pki.eid import make_eid
from openrsp.pki.layout import PkiIndex


def _operator(smdp: Smdp, *args: str) -> tuple[int, str, str]:
    pki = smdp.pki
    result = run(
        "operator", "--smdp", f"https://127.0.0.1:{smdp.port}", "--tls-name", "smdp.openrsp.test",
        "--client-cert", str(pki / "operator-tls" / "client.cert.pem"),
        "--client-key", str(pki / "operator-tls" / "client.key.pem"),
        "--ca", str(pki / "nist" / "ci.cert.pem"), "--json", *args,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def _euicc(pki: Path, directory: Path, root: str, eid: str | None = None) -> Path:
    create_euicc(directory, pki=pki, root_smds=root, eid=eid)
    return directory


def _discover(euicc: Path, *args: str) -> list[dict[str, str]]:
    run_ = lpa("--json", "profile", "discovery", *args, card=["--euicc", str(euicc)])
    assert run_.returncode == 0, run_.stdout + run_.stderr
    return run_.data


def _order_at(smdp: Smdp, smds_address: str, eid: str) -> tuple[str, dict[str, str]]:
    iccid = smdp.generate()
    smdp.es2_call("downloadOrder", iccid=iccid, eid=eid)
    code, out, err = _operator(
        smdp, "confirm", "--iccid", iccid, "--eid", eid, "--smds-address", smds_address
    )
    assert code == 0, err
    return iccid, json.loads(out)


def test_operator_confirms_with_smds_device_discovers_downloads_event_goes(
    smds: Smds, smdp: Smdp, smds_pki: Path, tmp_path: Path
) -> None:
    eid = PkiIndex.read(smds_pki).eid
    euicc = _euicc(smds_pki, tmp_path / "euicc", smds.address)
    # ES10a GetEuiccConfiguredAddresses names the root SM-DS the eUICC was made with.
    chip = lpa("--json", "chip", "info", card=["--euicc", str(euicc)])
    assert chip.data["EuiccConfiguredAddresses"]["rootDsAddress"] == smds.address
    iccid, confirmed = _order_at(smdp, smds.address, eid)
    assert confirmed["smds_address"] == smds.address

    events = _discover(euicc)  # no -s: the eUICC's root SM-DS
    assert events == [{"eventId": confirmed["matching_id"], "rspServerAddress": smdp.address}]

    download = lpa("--json", "profile", "download", "-s", events[0]["rspServerAddress"], "-m",
                   events[0]["eventId"], "-y", card=["--euicc", str(euicc)])  # fmt: skip
    assert download.returncode == 0, download.stdout + download.stderr
    assert iccid in installed_iccids(euicc)
    assert smdp.state(iccid) == "Installed"
    # The install notification ended the order: the SM-DP+'s outbox deletes the event.
    wait_for(lambda: not smds.events(), what="the event to be deleted at the SM-DS")
    assert _discover(euicc, "-s", smds.address) == []


def test_one_euicc_never_sees_another_euiccs_events(
    smds: Smds, smdp: Smdp, smds_pki: Path, tmp_path: Path
) -> None:
    index = PkiIndex.read(smds_pki)
    other_eid = make_eid(index.eid[:8], 4242)
    mine = _euicc(smds_pki, tmp_path / "mine", smds.address)
    theirs = _euicc(smds_pki, tmp_path / "theirs", smds.address, eid=other_eid)
    _, confirmed = _order_at(smdp, smds.address, index.eid)
    assert _discover(theirs) == []
    assert [e["eventId"] for e in _discover(mine)] == [confirmed["matching_id"]]
    _, other = _order_at(smdp, smds.address, other_eid)
    assert [e["eventId"] for e in _discover(theirs)] == [other["matching_id"]]
    assert [e["eventId"] for e in _discover(mine)] == [confirmed["matching_id"]]


def test_through_an_alternative_smds_that_forwards_to_the_root(
    smdp: Smdp, smds_pki: Path, tmp_path: Path
) -> None:
    root = Smds(smds_pki, tmp_path / "root").start()
    alternative = Smds(smds_pki, tmp_path / "alternative", extra=("--root", f"https://127.0.0.1:{root.port}"))
    try:
        alternative.start()
        eid = PkiIndex.read(smds_pki).eid
        euicc = _euicc(smds_pki, tmp_path / "euicc", root.address)  # the device knows only the root
        iccid, confirmed = _order_at(smdp, alternative.address, eid)
        # The root holds the event pointing at the alternative (ES15), the alternative at the SM-DP+.
        assert [(e["eventId"], e["rspServerAddress"]) for e in root.events()] == [
            (confirmed["matching_id"], alternative.address)
        ]
        assert [e["forwardedTo"] for e in alternative.events()] == [root.address]
        events = _discover(euicc)
        assert events == [{"eventId": confirmed["matching_id"], "rspServerAddress": smdp.address}]

        download = lpa("--json", "profile", "download", "--discover", "-y", card=["--euicc", str(euicc)])
        assert download.returncode == 0, download.stdout + download.stderr
        assert iccid in installed_iccids(euicc)
        wait_for(lambda: not alternative.events() and not root.events(), what="deletion at both SM-DSs")
        assert _discover(euicc) == []
    finally:
        alternative.stop()
        root.stop()


def test_smds_down_answers_8_9_at_once_and_the_outbox_delivers_when_it_is_back(
    smdp: Smdp, smds_pki: Path, tmp_path: Path
) -> None:
    eid = PkiIndex.read(smds_pki).eid
    smds = Smds(smds_pki, tmp_path / "smds").start()
    try:
        cancelled, _ = _order_at(smdp, smds.address, eid)  # registered while the SM-DS is up
        [cancelled_event] = smds.events()
        smds.stop()

        # Down: confirmOrder answers the SM-DS error at once; the order stays confirmed and released.
        iccid = smdp.generate()
        smdp.es2_call("downloadOrder", iccid=iccid, eid=eid)
        started = time.monotonic()
        code, out, err = _operator(
            smdp, "confirm", "--iccid", iccid, "--eid", eid, "--smds-address", smds.address
        )
        assert time.monotonic() - started < 10
        assert code == 1
        assert "8.9/5.1" in err and "Inaccessible" in err
        assert smdp.state(iccid) == "Released"
        # And an order that ends while the SM-DS is down owes it a deletion.
        smdp.es2_call("cancelOrder", iccid=cancelled, eid=eid, finalProfileStatusIndicator="Available")

        smds.start()  # back, same data: the outbox delivers the registration and the deletion
        euicc = _euicc(smds_pki, tmp_path / "euicc", smds.address)

        def delivered() -> bool:
            # Both delivered: the cancelled order's event gone, the new order's one there (checking only
            # "one event for this EID" would already hold before either, with the old event).
            events = smds.events()
            return (
                len(events) == 1
                and events[0]["eid"] == eid
                and events[0]["eventId"] != cancelled_event["eventId"]
            )

        wait_for(delivered, timeout=90, what="the pending registration and deletion")
        [event] = _discover(euicc)
        assert event["rspServerAddress"] == smdp.address
        download = lpa("--json", "profile", "download", "--discover", "-y", card=["--euicc", str(euicc)])
        assert download.returncode == 0, download.stdout + download.stderr
        assert iccid in installed_iccids(euicc)
    finally:
        smds.stop()


@pytest.mark.parametrize("bad", ["not a host!", "x" * 300])
def test_confirm_refuses_a_malformed_smds_address(smdp: Smdp, smds_pki: Path, bad: str) -> None:
    eid = PkiIndex.read(smds_pki).eid
    iccid = smdp.generate()
    smdp.es2_call("downloadOrder", iccid=iccid, eid=eid)
    code, _out, err = _operator(smdp, "confirm", "--iccid", iccid, "--eid", eid, "--smds-address", bad)
    assert code == 1 and "8.9.1/2.1" in err
    assert smdp.state(iccid) == "Linked"  # nothing half-done


def test_an_smds_that_refuses_the_smdp_leaves_the_order_unconfirmed(
    smdp: Smdp, smds_pki: Path, tmp_path: Path
) -> None:
    # This SM-DS accepts SM-DP+s of the operator CA only: the SM-DP+'s DP TLS certificate is refused.
    picky = Smds(
        smds_pki, tmp_path / "picky", extra=("--dp-ca", str(smds_pki / "operator-tls" / "ca.cert.pem"))
    )
    picky.start()
    try:
        eid = PkiIndex.read(smds_pki).eid
        iccid = smdp.generate()
        smdp.es2_call("downloadOrder", iccid=iccid, eid=eid)
        code, _out, err = _operator(
            smdp, "confirm", "--iccid", iccid, "--eid", eid, "--smds-address", picky.address
        )
        assert code == 1 and "8.9/4.2" in err and "1.1/1.2" in err
        assert smdp.state(iccid) == "Linked"  # nothing half-done: the operator may confirm again
        assert picky.events() == []
        code, out, err = _operator(smdp, "confirm", "--iccid", iccid, "--eid", eid)
        assert code == 0, err
    finally:
        picky.stop()
