"""The device description AuthenticateServer carries: TAC, capabilities, IMEI (ctxParams1)."""

import pytest

from openrsp.asn1.codec import rsp
from openrsp.lpa.core.device import DEFAULT_TAC, DeviceInfo, encode_ctx_params1, imei_to_bytes
from openrsp.lpa.core.errors import LpaInputError

IMEI = "490154203237518"  # a valid Luhn check digit


def test_imei_is_bcd_with_swapped_nibbles():
    assert imei_to_bytes(IMEI) == bytes.fromhex("94104502237315F8")
    assert imei_to_bytes("4901542032375186") == bytes.fromhex("9410450223731568")


@pytest.mark.parametrize("bad", ["49015420323751", "490154203237517", "49015420323751X", ""])
def test_bad_imeis_are_refused(bad):
    with pytest.raises(LpaInputError, match="IMEI"):
        DeviceInfo.for_imei(bad)


def test_ctx_params1_carries_matching_id_tac_and_imei():
    der = encode_ctx_params1("MATCH-1", DeviceInfo.for_imei(IMEI))
    kind, value = rsp().decode("CtxParams1", der)
    assert kind == "ctxParamsForCommonAuthentication"
    assert value["matchingId"] == "MATCH-1"
    assert value["deviceInfo"]["tac"] == bytes.fromhex("49015420")
    assert value["deviceInfo"]["imei"] == imei_to_bytes(IMEI)
    assert value["deviceInfo"]["deviceCapabilities"]["eutranEpcSupportedRelease"] == bytes([15, 0, 0])


def test_without_matching_id_or_imei():
    _, value = rsp().decode("CtxParams1", encode_ctx_params1(None, DeviceInfo()))
    assert "matchingId" not in value
    assert value["deviceInfo"]["tac"] == bytes.fromhex(DEFAULT_TAC)
    assert "imei" not in value["deviceInfo"]
    _, empty = rsp().decode("CtxParams1", encode_ctx_params1("", DeviceInfo()))
    assert empty["matchingId"] == ""
