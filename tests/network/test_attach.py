"""Attach against a real (virtual) eUICC over APDUs: PP restricted, OP contract, wrong keys, resync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from network_support import OP_IMSI, PP_IMSI, PP_RANGE, modem_for, subscription

from openrsp.network.contract import Contract
from openrsp.network.detection import ProvisioningDetection
from openrsp.network.device import AuthOk
from openrsp.network.errors import AttachRejected, ModemError, ServiceRefused
from openrsp.network.hss import Hss
from openrsp.network.mme import AttachProcedure, AttachReject, AttachStateError, Challenge
from openrsp.network.network import MobileNetwork

SMDP = ("smdp.openrsp.test", 8443)
CONTRACT = Contract(("internet", "ims"), voice=False, sms=True)


@pytest.fixture
def hss(tmp_path: Path) -> Hss:
    return Hss(tmp_path / "hss.sqlite")


@pytest.fixture
def network(hss: Hss):
    with MobileNetwork(hss, smdp=SMDP, provisioning_ranges=[PP_RANGE], smdp_apn="rsp.provisioning") as net:
        yield net


def test_pp_attach_gets_only_a_restricted_bearer_on_the_smdp_apn(
    make_card, hss: Hss, network: MobileNetwork
) -> None:
    sub = subscription(PP_IMSI, profile_class="provisioning")
    card = make_card(sub)
    hss.provision(sub.imsi, sub.ki, sub.opc, Contract.none())

    session = network.attach(modem_for(card), apn="internet")

    assert session.provisioning
    bearer = session.default_bearer
    assert (bearer.apn, bearer.requested_apn, bearer.restricted) == ("rsp.provisioning", "internet", True)
    assert bearer.proxy == network.maps.url
    replaced = network.events.of("gateway", "apn-replaced")
    assert replaced and replaced[0].fields["requested"] == "internet"
    with pytest.raises(ServiceRefused, match="not under contract"):
        session.voice_call("+15550100")
    with pytest.raises(ServiceRefused, match="not under contract"):
        session.send_sms("+15550100", "hello")
    assert [e.kind for e in network.events.of("gateway")][-2:] == ["voice-refused", "sms-refused"]


def test_pp_recognised_from_the_class_the_device_reports(make_card, hss: Hss, network: MobileNetwork) -> None:
    sub = subscription("001020000000001", profile_class="provisioning")  # outside the PP range
    card = make_card(sub)
    hss.provision(sub.imsi, sub.ki, sub.opc, Contract(("internet",), voice=True, sms=True))

    session = network.attach(modem_for(card, profile_class="provisioning"))

    assert session.provisioning and session.default_bearer.apn == "rsp.provisioning"
    accept = network.events.of("mme", "attach-accept")[-1]
    assert accept.fields["why"] == "device reports profile class provisioning"


def test_op_attach_gets_exactly_its_contract(make_card, hss: Hss, network: MobileNetwork) -> None:
    sub = subscription(OP_IMSI)
    card = make_card(sub)
    hss.provision(sub.imsi, sub.ki, sub.opc, CONTRACT)

    session = network.attach(modem_for(card))

    assert not session.provisioning
    assert session.default_bearer.apn == "internet" and not session.default_bearer.restricted
    assert session.default_bearer.proxy is None
    assert session.services() == ["data:internet", "data:ims", "sms"]
    assert session.open_bearer("ims").apn == "ims"
    with pytest.raises(ServiceRefused, match="not under contract"):
        session.open_bearer("corporate")
    with pytest.raises(ServiceRefused, match="not under contract"):
        session.voice_call("+15550100")
    assert session.send_sms("+15550100", "hi") == "SMS to +15550100 delivered"


def test_op_attach_asking_for_an_apn_outside_the_contract_is_rejected(make_card, hss: Hss, network) -> None:
    sub = subscription(OP_IMSI)
    hss.provision(sub.imsi, sub.ki, sub.opc, CONTRACT)
    with pytest.raises(AttachRejected, match="no data service"):
        network.attach(modem_for(make_card(sub)), apn="corporate")


@pytest.mark.parametrize("wrong", ["ki", "opc"])
def test_wrong_key_fails_the_attach(make_card, hss: Hss, network: MobileNetwork, wrong: str) -> None:
    sub = subscription(OP_IMSI)
    card = make_card(sub)
    keys = {"ki": sub.ki, "opc": sub.opc, wrong: os.urandom(16)}
    hss.provision(sub.imsi, keys["ki"], keys["opc"], CONTRACT)

    with pytest.raises(AttachRejected) as caught:
        network.attach(modem_for(card))

    assert "MAC failure" in caught.value.cause and "wrong key" in caught.value.cause
    assert network.events.of("mme", "attach-reject")
    assert not network.events.of("gateway", "bearer")


def test_unknown_imsi_is_rejected(make_card, network: MobileNetwork) -> None:
    with pytest.raises(AttachRejected, match="IMSI unknown"):
        network.attach(modem_for(make_card(subscription(OP_IMSI))))


def test_stale_sqn_on_the_card_is_resynchronised(make_card, hss: Hss, network: MobileNetwork) -> None:
    sub = subscription(OP_IMSI)
    card = make_card(sub)
    hss.provision(sub.imsi, sub.ki, sub.opc, CONTRACT, sqn=40)
    network.attach(modem_for(card))  # the card now holds SQN 41
    # The HSS is restored from an old backup: its SQN is behind the card's.
    hss.provision(sub.imsi, sub.ki, sub.opc, CONTRACT, sqn=3)

    session = network.attach(modem_for(card))

    assert not session.provisioning
    assert [e.kind for e in network.events.of("mme")][-4:] == [
        "auth-challenge",
        "auth-sync-failure",
        "auth-challenge",
        "attach-accept",
    ]
    assert network.events.of("mme", "attach-accept")[-1].fields["resynchronised"] is True
    assert hss.subscriber(sub.imsi).sqn == 42
    network.attach(modem_for(card))  # and from then on without resync
    assert network.events.of("mme", "attach-accept")[-1].fields["resynchronised"] is False


def test_a_wrong_res_is_rejected_by_the_procedure(hss: Hss) -> None:
    sub = subscription(OP_IMSI)
    hss.provision(sub.imsi, sub.ki, sub.opc, CONTRACT)
    procedure = AttachProcedure(hss, ProvisioningDetection())
    assert isinstance(procedure.start(sub.imsi), Challenge)
    outcome = procedure.on_response(AuthOk(res=bytes(8), ck=bytes(16), ik=bytes(16)))
    assert isinstance(outcome, AttachReject) and outcome.cause == 3


def test_modem_reads_the_subscription_from_the_usim(make_card) -> None:
    sub = subscription("310260123456789")
    modem = modem_for(make_card(sub))
    identity = modem.power_on()
    assert identity.imsi == "310260123456789"
    assert identity.mnc_length == 2 and identity.plmn == "31026"
    assert identity.usim_aid == sub.usim_aid


def test_modem_without_a_usim_says_so(tmp_path: Path, pki_dir: Path) -> None:
    from openrsp.euicc.store import create_euicc

    create_euicc(tmp_path / "empty", pki=pki_dir)
    with pytest.raises(ModemError, match="USIM"):
        modem_for(tmp_path / "empty").power_on()


def test_the_procedure_cannot_be_driven_out_of_order(hss: Hss) -> None:
    sub = subscription(OP_IMSI)
    hss.provision(sub.imsi, sub.ki, sub.opc, CONTRACT)
    procedure = AttachProcedure(hss, ProvisioningDetection())
    with pytest.raises(AttachStateError):
        procedure.on_response(AuthOk(res=bytes(8), ck=bytes(16), ik=bytes(16)))
    procedure.start(sub.imsi)
    with pytest.raises(AttachStateError):
        procedure.start(sub.imsi)
