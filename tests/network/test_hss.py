"""The HSS/AuC: provisioning, vectors a real card accepts, SQN, resync, persistence, sealed keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openrsp.crypto.aka import AkaSuccess, build_auts, verify_autn
from openrsp.errors import InputError
from openrsp.network.contract import Contract
from openrsp.network.errors import HssStorageError, UnknownSubscriber
from openrsp.network.hss import Hss, ResyncFailed

IMSI = "001010000000042"
KI = bytes.fromhex("465B5CE8B199B49FAA5F0A2EE238A6BC")
OPC = bytes.fromhex("CD63CB71954A9F4E48A5994E37A02BAF")
CONTRACT = Contract(("internet",), voice=True, sms=True)


def test_vectors_verify_on_the_card_side_and_advance_the_sqn(tmp_path: Path) -> None:
    hss = Hss(tmp_path / "hss.sqlite")
    hss.provision(IMSI, KI, OPC, CONTRACT)
    sqn_ms = 0
    for expected in (1, 2, 3):
        vector = hss.authentication_vector(IMSI)
        outcome = verify_autn(KI, OPC, vector.rand, vector.autn, sqn_ms=sqn_ms)
        assert isinstance(outcome, AkaSuccess)
        assert outcome.res == vector.xres and outcome.ck == vector.ck and outcome.ik == vector.ik
        assert outcome.sqn == expected
        sqn_ms = outcome.sqn
    assert hss.subscriber(IMSI).sqn == 3


def test_pinned_rand_is_used(tmp_path: Path) -> None:
    hss = Hss(tmp_path / "hss.sqlite")
    hss.provision(IMSI, KI, OPC, CONTRACT)
    rand = bytes(range(16))
    assert hss.authentication_vector(IMSI, rand=rand).rand == rand


def test_subscribers_survive_a_restart_and_keys_are_not_stored_in_clear(tmp_path: Path) -> None:
    database = tmp_path / "hss.sqlite"
    with Hss(database) as hss:
        hss.provision(IMSI, KI, OPC, CONTRACT, sqn=100)
        hss.authentication_vector(IMSI)
    raw = database.read_bytes()
    assert KI not in raw and OPC not in raw
    assert (tmp_path / "hss.sqlite.key").stat().st_mode & 0o077 == 0
    with Hss(database) as hss:
        sub = hss.subscriber(IMSI)
        assert (sub.ki, sub.opc, sub.sqn, sub.contract) == (KI, OPC, 101, CONTRACT)
        assert KI.hex() not in repr(sub).lower() and KI.hex().upper() not in repr(sub)


def test_another_storage_key_cannot_open_the_keys(tmp_path: Path) -> None:
    database = tmp_path / "hss.sqlite"
    with Hss(database, storage_key=os.urandom(32)) as hss:
        hss.provision(IMSI, KI, OPC, CONTRACT)
    with Hss(database, storage_key=os.urandom(32)) as other, pytest.raises(HssStorageError):
        other.subscriber(IMSI)


def test_resync_moves_the_sqn_to_the_cards(tmp_path: Path) -> None:
    hss = Hss(tmp_path / "hss.sqlite")
    hss.provision(IMSI, KI, OPC, CONTRACT)
    vector = hss.authentication_vector(IMSI)  # SQN 1, but the card is at 500
    outcome = verify_autn(KI, OPC, vector.rand, vector.autn, sqn_ms=500)
    assert not isinstance(outcome, AkaSuccess)
    assert hss.resynchronise(IMSI, vector.rand, outcome.auts) == 500
    fresh = hss.authentication_vector(IMSI)
    after = verify_autn(KI, OPC, fresh.rand, fresh.autn, sqn_ms=500)
    assert isinstance(after, AkaSuccess) and after.sqn == 501


def test_resync_with_a_forged_auts_is_refused(tmp_path: Path) -> None:
    hss = Hss(tmp_path / "hss.sqlite")
    hss.provision(IMSI, KI, OPC, CONTRACT)
    vector = hss.authentication_vector(IMSI)
    forged = build_auts(os.urandom(16), OPC, vector.rand, 900)
    with pytest.raises(ResyncFailed):
        hss.resynchronise(IMSI, vector.rand, forged)
    assert hss.subscriber(IMSI).sqn == 1


def test_unknown_imsi_and_bad_input() -> None:
    hss = Hss(":memory:")
    with pytest.raises(UnknownSubscriber):
        hss.authentication_vector(IMSI)
    with pytest.raises(InputError):
        hss.provision(IMSI, KI[:8], OPC, CONTRACT)
    with pytest.raises(InputError):
        hss.provision("12ab", KI, OPC, CONTRACT)


def test_contract_can_change(tmp_path: Path) -> None:
    hss = Hss(tmp_path / "hss.sqlite")
    hss.provision(IMSI, KI, OPC, Contract.none())
    hss.set_contract(IMSI, CONTRACT)
    assert hss.subscriber(IMSI).contract.services() == ["data:internet", "voice", "sms"]
    assert hss.imsis() == [IMSI]


def test_provisioning_from_the_operators_subscription() -> None:
    from openrsp.profile import Subscription

    sub = Subscription(iccid="8900100000000000017", imsi=IMSI, ki=KI, opc=OPC)
    hss = Hss(":memory:")
    hss.provision_subscription(sub, CONTRACT)
    assert hss.subscriber(IMSI).ki == KI
    test_profile = Subscription(
        iccid="8900100000000000017", imsi=IMSI, ki=KI, opc=OPC, algorithm="usim-test-algorithm"
    )
    with pytest.raises(InputError, match="Milenage"):
        hss.provision_subscription(test_profile, CONTRACT)
