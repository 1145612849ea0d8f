"""Two processes holding one eUICC folder (a served card and an in-process LPA) never undo each other."""

from __future__ import annotations

import pytest
from rsp_harness import final_result, store_metadata

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import iccid_from_bytes, iccid_to_bytes
from openrsp.euicc.state import StateError
from openrsp.euicc.store import card_for, open_euicc
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.profile import Subscription, generate_package
from openrsp.profile.package import ProfilePackage

SUB = Subscription(iccid="8900101012345678904", imsi="001010123456789", ki=bytes(range(16)), opc=bytes(16))


def _client(directory) -> tuple[object, Es10Client]:
    euicc = open_euicc(directory)
    return euicc, Es10Client(InProcessTransport(card_for(euicc)))


def _nicknames(client: Es10Client) -> dict[str, str]:
    kind, items = rsp().decode("ProfileInfoListResponse", client.call(bytes.fromhex("BF2D00")))
    assert kind == "profileInfoListOk"
    return {iccid_from_bytes(p["iccid"]): p.get("profileNickname", "") for p in items}


def _rename(client: Es10Client, iccid: str, name: str) -> int:
    request = rsp().encode("SetNicknameRequest", {"iccid": iccid_to_bytes(iccid), "profileNickname": name})
    return rsp().decode("SetNicknameResponse", client.call(request))["setNicknameResult"]


@pytest.fixture
def installed(rig):
    package = generate_package(SUB)
    iccid = ProfilePackage.from_der(package).iccid
    assert final_result(rig.lpa.download(package, store_metadata(iccid)).result)[0] == "successResult"
    return rig.directory, iccid


def test_a_change_made_through_one_holder_is_seen_and_kept_by_the_other(installed):
    directory, iccid = installed
    _, first = _client(directory)
    _, second = _client(directory)
    assert _rename(first, iccid, "work") == 0
    assert _nicknames(second)[iccid] == "work"  # picked up before the command, not stale
    assert _rename(second, iccid, "home") == 0  # builds on "work", does not overwrite it blindly
    assert _nicknames(first)[iccid] == "home"
    assert _nicknames(_client(directory)[1])[iccid] == "home"


def test_a_write_based_on_a_state_another_process_replaced_is_refused(installed):
    directory, iccid = installed
    stale, _ = _client(directory)
    _, other = _client(directory)
    assert _rename(other, iccid, "theirs") == 0
    # The stale holder writes without picking up the change first (as a racing process would).
    with pytest.raises(StateError), stale.transaction() as draft:
        draft.profiles[0].nickname = "mine"
    assert _nicknames(_client(directory)[1])[iccid] == "theirs"
