"""The worlds the fuzz targets mutate: a real card after a real download, an SM-DP+ after a real run.

Every seed is recorded from these runs, so the mutations start from what real peers send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from es9_harness import (
    TS48_PROFILE,
    Es9Rig,
    SoftEuicc,
    authenticate,
    b64,
    get_bpp,
    initiate,
    make_context,
    ok,
)
from rsp_harness import HarnessSmdp, Rig, final_result, store_metadata
from smdp_support import FakeClock

from openrsp.apdu import SW_UNKNOWN, ResponseApdu
from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import CancelSessionReason, bit_string, iccid_to_bytes
from openrsp.euicc.store import create_euicc
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.profile.package import ProfilePackage
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.engine import make_engine, migrate, sqlite_url

PACKAGE = "TS48V1-A-UNIQUE.der"
NOTIFY_ALL = [((0, 1, 2, 3), "notify.openrsp.test")]
ES9_FUNCTIONS = [
    "initiateAuthentication",
    "authenticateClient",
    "getBoundProfilePackage",
    "handleNotification",
    "cancelSession",
]
ES2_FUNCTIONS = ["downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile", "profileStatus"]


class WatchedTransport:
    """The in-process card, recording every APDU and answer (to find a 6F00 among them)."""

    def __init__(self, card) -> None:
        self.card = card
        self.exchanges: list[tuple[bytes, bytes]] = []

    def transmit(self, apdu: bytes) -> bytes:
        answer = self.card.process(apdu)
        self.exchanges.append((apdu, answer))
        return answer

    def reset(self) -> None:
        self.card.reset()

    def close(self) -> None:
        pass

    def internal_errors(self) -> list[bytes]:
        return [apdu for apdu, answer in self.exchanges if ResponseApdu.parse(answer).sw == SW_UNKNOWN]


@dataclass
class CardWorld:
    rig: Rig
    iccid: str
    seeds: dict[str, list[bytes]]  # ES10 function name -> real requests
    exchange: list[bytes]  # the APDUs of one real ES10 exchange (channel, select, STORE DATA, GET RESPONSE)
    package: bytes


def _request(type_name: str, value) -> bytes:
    return rsp().encode(type_name, value)


def build_card_world(directory: Path, pki_dir: Path, smdp_credentials, ts48_dir: Path) -> CardWorld:
    """A card with one profile installed by a real download, and the requests of that session."""
    create_euicc(directory, pki=pki_dir, default_smdp="smdp.openrsp.test")
    rig = Rig(directory, HarnessSmdp(smdp_credentials.sets[0]), smdp_credentials)
    package = (ts48_dir / PACKAGE).read_bytes()
    iccid = ProfilePackage.from_der(package).iccid
    # A real download, recorded: AuthenticateServer, PrepareDownload and the BPP segments as sent.
    recorded: list[bytes] = []
    call = rig.lpa.call

    def recording(request: bytes) -> bytes:
        recorded.append(request)
        return call(request)

    rig.lpa.call = recording
    download = rig.lpa.download(
        package, store_metadata(iccid, notifications=NOTIFY_ALL, owner=b"\x00\xf1\x10")
    )
    assert final_result(download.result)[0] == "successResult"
    rig.lpa.call = call
    by_tag = {}
    for request in recorded:
        by_tag.setdefault(request[:2], []).append(request)
    by_iccid = ("iccid", iccid_to_bytes(iccid))
    seeds = {
        "GetEuiccChallenge": [bytes.fromhex("BF2E00")],
        "GetEuiccInfo1": [bytes.fromhex("BF2000")],
        "GetEuiccInfo2": [bytes.fromhex("BF2200")],
        "GetEuiccConfiguredAddresses": [bytes.fromhex("BF3C00")],
        "SetDefaultDpAddress": [
            _request("SetDefaultDpAddressRequest", {"defaultDpAddress": "smdp.openrsp.test"})
        ],
        "GetEID": [bytes.fromhex("BF3E035C015A")],
        "GetProfilesInfo": [
            bytes.fromhex("BF2D00"),
            bytes.fromhex("BF2D065C045A9F7092"),
            _request("ProfileInfoListRequest", {"searchCriteria": by_iccid}),
            _request("ProfileInfoListRequest", {"searchCriteria": ("profileClass", 2)}),
        ],
        "EnableProfile": [
            _request("EnableProfileRequest", {"profileIdentifier": by_iccid, "refreshFlag": False})
        ],
        "DisableProfile": [
            _request("DisableProfileRequest", {"profileIdentifier": by_iccid, "refreshFlag": False})
        ],
        "DeleteProfile": [
            _request("DeleteProfileRequest", ("iccid", iccid_to_bytes("89000000000000000000")))
        ],
        "EuiccMemoryReset": [_request("EuiccMemoryResetRequest", {"resetOptions": bit_string(1)})],
        "SetNickname": [
            _request("SetNicknameRequest", {"iccid": iccid_to_bytes(iccid), "profileNickname": "n"})
        ],
        "ListNotification": [
            bytes.fromhex("BF2800"),
            _request("ListNotificationRequest", {"profileManagementOperation": bit_string(0, 1)}),
        ],
        "RetrieveNotificationsList": [
            bytes.fromhex("BF2B00"),
            _request("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", 1)}),
            _request(
                "RetrieveNotificationsListRequest",
                {"searchCriteria": ("profileManagementOperation", bit_string(0))},
            ),
        ],
        "RemoveNotificationFromList": [_request("NotificationSentRequest", {"seqNumber": 99})],
        "GetRAT": [bytes.fromhex("BF4300")],
        "AuthenticateServer": by_tag[b"\xbf\x38"],
        "PrepareDownload": by_tag[b"\xbf\x21"],
        "CancelSession": [_request("CancelSessionRequest", {"transactionId": b"\x01" * 16, "reason": 0})],
    }
    # One real exchange at APDU level, for the APDU target.
    transport = WatchedTransport(rig.card)
    client = Es10Client(transport, block_size=7)
    client.call(seeds["GetProfilesInfo"][0])
    client.close()
    exchange = [apdu for apdu, _ in transport.exchanges]
    return CardWorld(rig, iccid, seeds, exchange, package)


@dataclass
class SmdpWorld:
    rig: Es9Rig
    es9: dict[str, list[dict[str, Any]]]  # function -> real request bodies
    es2: dict[str, list[dict[str, Any]]]
    answers: dict[str, list[dict[str, Any]]]  # function -> the SM-DP+'s real answers


def build_smdp_world(base: Path, pki_dir: Path, smdp_credentials, ts48_dir: Path) -> Iterator[SmdpWorld]:
    """An SM-DP+ in process on SQLite, and the ES2+/ES9+ requests and answers of a real run."""
    engine = make_engine(sqlite_url(base / "smdp.sqlite"))
    migrate(engine)
    clock = FakeClock(now=datetime.now(UTC).replace(microsecond=0))
    database = SmdpDatabase(engine, Sealer(bytes(range(32))), clock)
    context = make_context(database, smdp_credentials, clock, base)
    rig = Es9Rig(context, clock, SoftEuicc.load(pki_dir, "nist"), (ts48_dir / TS48_PROFILE).read_bytes())
    es9: dict[str, list[dict[str, Any]]] = {name: [] for name in ES9_FUNCTIONS}
    es2: dict[str, list[dict[str, Any]]] = {name: [] for name in ES2_FUNCTIONS}
    real_call = rig.call

    answers: dict[str, list[dict[str, Any]]] = {name: [] for name in ES9_FUNCTIONS}

    def recording(function: str, body: dict[str, Any]) -> dict[str, Any]:
        es9[function].append(json.loads(json.dumps(body)))
        answer = real_call(function, body)
        answers[function].append(json.loads(json.dumps(answer)))
        return answer

    # ES2+: order, confirm (with a confirmation code on the second), release, status, cancel.
    first = rig.add_profile()
    second = rig.add_profile()
    third = rig.add_profile()
    es2["downloadOrder"].append({"iccid": first, "eid": rig.euicc.eid})
    es2["confirmOrder"].append({"iccid": first, "releaseFlag": True, "confirmationCode": "1234"})
    es2["releaseProfile"].append({"iccid": second})
    es2["profileStatus"].append({"iccid": first})
    es2["cancelOrder"].append({"iccid": third, "finalProfileStatusIndicator": "Available"})
    matching_id = rig.order(first, eid=rig.euicc.eid)
    # ES9+: one whole download with its install notification, then a cancelled session.
    init = ok(initiate(recording, rig.euicc, rig.address))
    auth = ok(authenticate(recording, rig.euicc, init, matching_id))
    ok(get_bpp(recording, rig.euicc, auth))
    result = rig.euicc.install_result(first, rig.address, rig.oid)
    recording("handleNotification", {"pendingNotification": b64(result)})
    other = rig.euicc.other_notification(1, first, rig.address)
    recording("handleNotification", {"pendingNotification": b64(other)})
    matching_second = rig.order(second)
    init = ok(initiate(recording, rig.euicc, rig.address))
    ok(authenticate(recording, rig.euicc, init, matching_second))
    cancel = rig.euicc.cancel_session(CancelSessionReason.postponed, rig.oid)
    recording("cancelSession", {"transactionId": init["transactionId"], "cancelSessionResponse": b64(cancel)})
    assert all(es9.values()), {k: len(v) for k, v in es9.items()}
    try:
        yield SmdpWorld(rig, es9, es2, answers)
    finally:
        engine.dispose()
