"""The LPA's typed ES10 calls against the virtual eUICC, over real APDUs in one process."""

import pytest

from openrsp.asn1.codec import rsp
from openrsp.asn1.rsp_types import iccid_to_bytes
from openrsp.euicc.store import create_euicc, open_card
from openrsp.lpa.core.errors import Es10Error, LpaInputError
from openrsp.lpa.core.es10 import Es10, profile_identifier
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.pki.layout import PkiIndex

PP_ICCID = "8949449999999990023"


@pytest.fixture
def with_profile(pki_dir, tmp_path, ts48_dir) -> Es10:
    """An eUICC holding one (provisioning, enabled) profile: TS.48 V1 A."""
    directory = tmp_path / "euicc-pp"
    create_euicc(directory, pki=pki_dir, provisioning_profile=(ts48_dir / "TS48V1-A-UNIQUE.der").read_bytes())
    return Es10(Es10Client(InProcessTransport(open_card(directory))))


def test_chip_identity_and_addresses(es10, pki_dir):
    index = PkiIndex.read(pki_dir)
    assert es10.get_eid() == index.eid
    addresses = es10.get_configured_addresses()
    assert addresses.default_dp_address is None
    assert addresses.root_ds_address == "lpa.ds.gsma.com"
    es10.set_default_dp_address("smdp.example.com:8443")
    assert es10.get_configured_addresses().default_dp_address == "smdp.example.com:8443"


def test_euicc_info_names_the_trusted_cis(es10, pki_dir):
    index = PkiIndex.read(pki_dir)
    pkids = {bytes.fromhex(index.entry(curve, "ci")["pkid"]) for curve in index.curves}
    info1 = rsp().decode("EUICCInfo1", es10.get_euicc_info1())
    assert set(info1["euiccCiPKIdListForVerification"]) == pkids
    info2 = es10.get_euicc_info2()
    assert set(info2["euiccCiPKIdListForSigning"]) == pkids
    assert info2["svn"] == bytes([2, 2, 2])
    challenges = {es10.get_euicc_challenge() for _ in range(3)}
    assert len(challenges) == 3 and all(len(c) == 16 for c in challenges)


def test_empty_card(es10):
    assert es10.get_profiles_info() == []
    assert es10.list_notifications() == []
    assert es10.retrieve_notifications() == []
    assert es10.remove_notification(1) is False
    assert es10.memory_reset() is False  # nothing to delete


def test_profile_listing_and_nickname(with_profile):
    [profile] = with_profile.get_profiles_info()
    assert profile.iccid == PP_ICCID
    assert profile.state == "enabled"
    assert profile.profile_class == "provisioning"
    assert profile.isdp_aid is not None and profile.isdp_aid.startswith(bytes.fromhex("A0000005591010"))
    with_profile.set_nickname(PP_ICCID, "Ünïcode nick")
    assert with_profile.get_profiles_info()[0].nickname == "Ünïcode nick"


def test_enable_and_disable_by_iccid_and_by_aid(with_profile):
    [profile] = with_profile.get_profiles_info()
    with_profile.disable_profile(PP_ICCID)
    assert with_profile.get_profiles_info()[0].state == "disabled"
    with pytest.raises(Es10Error) as caught:
        with_profile.disable_profile(PP_ICCID)
    assert (caught.value.code, caught.value.name) == (2, "profileNotInEnabledState")
    assert profile.isdp_aid is not None
    with_profile.enable_profile(profile.isdp_aid.hex())
    assert with_profile.get_profiles_info()[0].state == "enabled"


def test_refusals_carry_the_spec_names(with_profile):
    cases = [
        (
            lambda: with_profile.enable_profile("8949449999999990031"),
            "EnableProfile",
            1,
            "iccidOrAidNotFound",
        ),
        (lambda: with_profile.enable_profile(PP_ICCID), "EnableProfile", 2, "profileNotInDisabledState"),
        (lambda: with_profile.delete_profile(PP_ICCID), "DeleteProfile", 2, "profileNotInDisabledState"),
        (lambda: with_profile.set_nickname("8949449999999990031", "x"), "SetNickname", 1, "iccidNotFound"),
        (lambda: with_profile.cancel_session(bytes(16), 0), "CancelSession", 5, "invalidTransactionId"),
    ]
    for call, function, code, name in cases:
        with pytest.raises(Es10Error) as caught:
            call()
        error = caught.value
        assert (error.function, error.code, error.name) == (function, code, name)
        assert name in str(error) and str(code) in str(error)
        assert error.details() == {"function": function, "resultCode": code, "result": name}


def test_profile_identifiers():
    assert profile_identifier("8949449999999990023") == ("iccid", iccid_to_bytes("8949449999999990023"))
    assert profile_identifier("a0000005591010ffffffff8900001000") == (
        "isdpAid",
        bytes.fromhex("A0000005591010FFFFFFFF8900001000"),
    )
    for bad in ("12", "hello", "A0XYZ"):
        with pytest.raises(LpaInputError):
            profile_identifier(bad)


def test_nickname_length_is_checked_before_the_card(es10):
    with pytest.raises(LpaInputError, match="64 bytes"):
        es10.set_nickname(PP_ICCID, "x" * 65)
