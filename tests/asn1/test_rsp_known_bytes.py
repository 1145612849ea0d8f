"""Bytes seen from real peers and published test vectors decode to the values they stand for,
and encode back to the same bytes."""

import pytest

from openrsp.asn1.codec import Asn1Error, rsp
from openrsp.asn1.rsp_types import ProfileClass, iccid_from_bytes
from openrsp.asn1.tlv import read_tlv
from openrsp.errors import OpenRSPError

EID = bytes.fromhex("89049032123451234512345678901235")


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize(
    ("type_name", "hex_", "value"),
    [
        # lpac `chip info`, `profile list`, `notification list` (interop-notes.md)
        ("GetEuiccDataRequest", "BF3E035C015A", {"tagList": b"\x5a"}),
        ("EuiccConfiguredAddressesRequest", "BF3C00", {}),
        ("GetRatRequest", "BF4300", {}),
        ("GetEuiccInfo2Request", "BF2200", {}),
        ("ProfileInfoListRequest", "BF2D00", {}),
        ("ListNotificationRequest", "BF2800", {}),
    ],
)
def test_lpac_requests_decode(type_name, hex_, value):
    codec = rsp()
    assert codec.decode(type_name, h(hex_)) == value
    assert codec.encode(type_name, value) == h(hex_)


STORE_METADATA = (
    "bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c45950100"
)


def test_store_metadata_test_vector_decodes_to_its_fields():
    metadata = rsp().decode("StoreMetadataRequest", h(STORE_METADATA))
    assert metadata == {
        "iccid": h("98001032547698103214"),
        "serviceProviderName": "GSMA_TEST",
        "profileName": "GSMA_TEST_PROFILE",
        "profileClass": ProfileClass.test,
    }
    assert iccid_from_bytes(metadata["iccid"]) == "89000123456789012341"
    assert rsp().encode("StoreMetadataRequest", metadata) == h(STORE_METADATA)


def test_store_metadata_inside_its_protected_88_segment():
    # MAC-only segment: 88 <len> <StoreMetadataRequest> <8-byte MAC>
    segment = h(
        "8838bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c4595"
        "01008a62cc9adbb5ccbc"
    )
    tlv = read_tlv(segment)
    assert tlv.tag == 0x88
    metadata, used = rsp().decode_with_length("StoreMetadataRequest", tlv.value)
    assert used == len(h(STORE_METADATA))
    assert tlv.value[used:] == h("8a62cc9adbb5ccbc")
    assert metadata["profileName"] == "GSMA_TEST_PROFILE"


def test_replace_session_keys_and_configure_isdp_vectors():
    codec = rsp()
    rsk_hex = (
        "bf2636 8010000102030405060708090a0b0c0d0e0f 8110010102030405060708090a0b0c0d0e0f"
        " 8210020102030405060708090a0b0c0d0e0f"
    )
    keys = codec.decode("ReplaceSessionKeysRequest", h(rsk_hex))
    assert keys == {
        "initialMacChainingValue": h("000102030405060708090A0B0C0D0E0F"),
        "ppkEnc": h("0101020304050607 08090A0B0C0D0E0F"),
        "ppkCmac": h("0201020304050607 08090A0B0C0D0E0F"),
    }
    assert codec.encode("ReplaceSessionKeysRequest", keys) == h(rsk_hex)
    assert codec.decode("ConfigureISDPRequest", h("bf2400")) == {}


# Encodings worked out by hand from the tags in SGP.22 (and what lpac sends and expects).
@pytest.mark.parametrize(
    ("type_name", "value", "hex_"),
    [
        ("GetEuiccDataResponse", {"eidValue": EID}, "BF3E12 5A10 89049032123451234512345678901235"),
        (
            "GetEuiccChallengeResponse",
            {"euiccChallenge": bytes(range(16))},
            "BF2E12 8010 000102030405060708090A0B0C0D0E0F",
        ),
        (
            "EnableProfileRequest",
            {"profileIdentifier": ("iccid", h("98001032547698103214")), "refreshFlag": True},
            "BF3111 A00C 5A0A98001032547698103214 8101FF",
        ),
        (
            "DisableProfileRequest",
            {"profileIdentifier": ("isdpAid", h("A0000005591010FFFFFFFF8900001000")), "refreshFlag": False},
            "BF3217 A0124F10A0000005591010FFFFFFFF8900001000 810100",
        ),
        ("DeleteProfileRequest", ("iccid", h("98001032547698103214")), "BF330C 5A0A98001032547698103214"),
        ("EnableProfileResponse", {"enableResult": 2}, "BF3103 800102"),
        (
            "ProfileInfoListRequest",
            {"searchCriteria": ("profileClass", 0), "tagList": h("5A9F70")},
            "BF2D0A A003950100 5C035A9F70",
        ),
        ("ListNotificationRequest", {"profileManagementOperation": (b"\x80", 1)}, "BF2804 81020780"),
        ("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", 5)}, "BF2B05 A003800105"),
        ("NotificationSentRequest", {"seqNumber": 7}, "BF3003 800107"),
        ("NotificationSentResponse", {"deleteNotificationStatus": 0}, "BF3003 800100"),
        ("EuiccMemoryResetRequest", {"resetOptions": (b"\x80", 1)}, "BF3404 82020780"),
        (
            "SetNicknameRequest",
            {"iccid": h("98001032547698103214"), "profileNickname": "Work"},
            "BF2912 5A0A98001032547698103214 9004576F726B",
        ),
        (
            "EuiccConfiguredAddressesResponse",
            {"defaultDpAddress": "smdp.example.com", "rootDsAddress": "lpa.ds.gsma.com"},
            "BF3C23 8010736D64702E6578616D706C652E636F6D 810F6C70612E64732E67736D612E636F6D",
        ),
        ("SetDefaultDpAddressRequest", {"defaultDpAddress": "a.b"}, "BF3F05 8003612E62"),
        (
            "CancelSessionRequest",
            {"transactionId": bytes(16), "reason": 0},
            "BF4115 8010" + "00" * 16 + "810100",
        ),
        (
            "NotificationMetadata",
            {
                "seqNumber": 1,
                "profileManagementOperation": (b"\x80", 1),
                "notificationAddress": "a.b",
                "iccid": h("98001032547698103214"),
            },
            "BF2F18 800101 81020780 0C03612E62 5A0A98001032547698103214",
        ),
        (
            "InitialiseSecureChannelRequest",
            {
                "remoteOpId": 1,
                "transactionId": bytes(16),
                "controlRefTemplate": {"keyType": b"\x88", "keyLen": b"\x10", "hostId": b"\x80" * 8},
                "smdpOtpk": b"\x04" + bytes(64),
                "smdpSign": bytes(64),
            },
            "BF2381AE 820101 8010"
            + "00" * 16
            + "A610 800188 810110 84088080808080808080 5F4941 04"
            + "00" * 64
            + "5F3740"
            + "00" * 64,
        ),
        ("RspSignature", b"\x01" * 64, "5F3740" + "01" * 64),
        ("OneTimePublicKey", b"\x04" + b"\x02" * 64, "5F4941 04" + "02" * 64),
    ],
)
def test_hand_encoded_es10_and_es8_objects(type_name, value, hex_):
    codec = rsp()
    assert codec.encode(type_name, value).hex().upper() == h(hex_).hex().upper()
    assert codec.decode(type_name, h(hex_)) == value


def test_euicc_info2_keeps_untagged_members_universal():
    # EUICCInfo2 has tagged members, so ppVersion and sasAcreditationNumber keep '04' and '0C'
    codec = rsp()
    info2 = {
        "profileVersion": h("020301"),
        "svn": h("020202"),
        "euiccFirmwareVer": h("010000"),
        "extCardResource": h("810100820400010000830200FF"),
        "uiccCapability": (h("7FFFE0"), 19),
        "rspCapability": (h("90"), 4),
        "euiccCiPKIdListForVerification": [h("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")],
        "euiccCiPKIdListForSigning": [h("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")],
        "ppVersion": h("010000"),
        "sasAcreditationNumber": "OPENRSP",
    }
    der = codec.encode("EUICCInfo2", info2)
    assert der.startswith(h("BF22"))
    assert h("0403010000 0C074F50454E525350") in der
    assert h("A9160414F54172BDF98A95D65CBEB88A38A1C11D800A85C3") in der  # [9] list of SKIs


def test_members_added_by_newer_peers_are_skipped():
    codec = rsp()
    base = codec.encode(
        "NotificationMetadata",
        {"seqNumber": 3, "profileManagementOperation": (b"\x40", 2), "notificationAddress": "x"},
    )
    body = read_tlv(base).value + h("9F7F0101")  # an unknown trailing member
    newer = h("BF2F") + bytes([len(body)]) + body
    assert codec.decode("NotificationMetadata", newer)["seqNumber"] == 3


def test_malformed_input_raises_a_typed_error():
    codec = rsp()
    for bad in (h("BF3E035C01"), h("BF2E1280100001"), b"", h("30020500")):
        with pytest.raises(Asn1Error):
            codec.decode("GetEuiccChallengeResponse", bad)
    with pytest.raises(Asn1Error):
        codec.encode("GetEuiccChallengeResponse", {"euiccChallenge": 5})
    assert issubclass(Asn1Error, OpenRSPError)


def test_sgp26_smdp_oid_decodes_with_its_real_arcs():
    # 2.999.10 encodes as 88 37 0A; asn1tools alone would have read it back as 26.39.10
    codec = rsp()
    signed = {"transactionId": bytes(16), "smdpOid": "2.999.10", "reason": 1}
    der = codec.encode("EuiccCancelSessionSigned", signed)
    assert h("810388370A") in der
    assert codec.decode("EuiccCancelSessionSigned", der) == signed
