"""Realistic values for the main RSP types survive encode -> decode -> encode unchanged, start
with the tag SGP.22 gives them, and carry the real SGP.26 certificates where the spec puts them."""

import os
from pathlib import Path

import pytest

from openrsp.asn1.codec import rsp
from openrsp.asn1.rsp_types import ES10_FUNCTIONS, bit_string, iccid_to_bytes
from openrsp.asn1.tlv import read_tlv, tag_bytes

SGP26 = Path(os.environ.get("OPENRSP_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "sgp26"


def cert(relative: str) -> dict:
    return rsp().decode("Certificate", (SGP26 / relative).read_bytes())


CI_PKID = bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")
CI_PKID_BRP = bytes.fromhex("C0BC70BA36929D43B467FF57570530E57AB8FCD8")
TID = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
EID = bytes.fromhex("89049032123451234512345678901235")
ICCID = iccid_to_bytes("8944476500001234567")
ISDP_AID = bytes.fromhex("A0000005591010FFFFFFFF8900001100")
OTPK = b"\x04" + bytes(range(64))
SIG = bytes(range(64, 128))
SMDP = "testsmdpplus1.example.com"

DPAUTH = cert("DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der")
DPPB = cert("DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der")
EUICC = cert("eUICC/CERT_EUICC_ECDSA_NIST.der")
EUM = cert("EUM/CERT_EUM_ECDSA_NIST.der")

EUICC_INFO1 = {
    "svn": b"\x02\x02\x02",
    "euiccCiPKIdListForVerification": [CI_PKID, CI_PKID_BRP],
    "euiccCiPKIdListForSigning": [CI_PKID, CI_PKID_BRP],
}

EUICC_INFO2 = {
    "profileVersion": b"\x02\x03\x01",
    "svn": b"\x02\x02\x02",
    "euiccFirmwareVer": b"\x01\x00\x00",
    "extCardResource": bytes.fromhex("810100820400064E10830200FF"),
    "uiccCapability": bit_string(1, 2, 4, 6, 7, 10, 11, 12, 14, 16, 17, 19, 20, 22),
    "ts102241Version": b"\x0f\x00\x00",
    "globalplatformVersion": b"\x02\x03\x00",
    "rspCapability": bit_string(0, 3, 4),
    "euiccCiPKIdListForVerification": [CI_PKID, CI_PKID_BRP],
    "euiccCiPKIdListForSigning": [CI_PKID],
    "euiccCategory": 2,
    "forbiddenProfilePolicyRules": bit_string(1),
    "ppVersion": b"\x01\x00\x00",
    "sasAcreditationNumber": "OPENRSP-TEST-0001",
    "certificationDataObject": {
        "platformLabel": "openrsp virtual eUICC",
        "discoveryBaseURL": "https://dloa.example.com",
    },
    "treProperties": bit_string(0),
    "treProductReference": "openrsp-vtre",
    "additionalEuiccProfilePackageVersions": [b"\x03\x01\x00"],
}

DEVICE_INFO = {
    "tac": bytes.fromhex("35290611"),
    "deviceCapabilities": {
        "gsmSupportedRelease": b"\x0f\x00\x00",
        "utranSupportedRelease": b"\x0f\x00\x00",
        "eutranEpcSupportedRelease": b"\x0f\x00\x00",
        "nr5gcSupportedRelease": b"\x10\x00\x00",
    },
    "imei": bytes.fromhex("3529061112345678"),
}

CTX_PARAMS1 = (
    "ctxParamsForCommonAuthentication",
    {"matchingId": "QR-G-5C-1LS-1W1Z9P7", "deviceInfo": DEVICE_INFO},
)

SERVER_SIGNED1 = {
    "transactionId": TID,
    "euiccChallenge": bytes(range(16)),
    "serverAddress": SMDP,
    "serverChallenge": bytes(range(16, 32)),
}

EUICC_SIGNED1 = {
    "transactionId": TID,
    "serverAddress": SMDP,
    "serverChallenge": bytes(range(16, 32)),
    "euiccInfo2": EUICC_INFO2,
    "ctxParams1": CTX_PARAMS1,
}

AUTHENTICATE_SERVER_RESPONSE = (
    "authenticateResponseOk",
    {"euiccSigned1": EUICC_SIGNED1, "euiccSignature1": SIG, "euiccCertificate": EUICC, "eumCertificate": EUM},
)

STORE_METADATA = {
    "iccid": ICCID,
    "serviceProviderName": "openrsp Mobile",
    "profileName": "openrsp test profile",
    "iconType": 1,
    "icon": bytes.fromhex("89504E470D0A1A0A") + bytes(40),
    "profileClass": 2,
    "notificationConfigurationInfo": [
        {"profileManagementOperation": bit_string(0, 1, 2, 3), "notificationAddress": SMDP}
    ],
    "profileOwner": {"mccMnc": bytes.fromhex("00F110"), "gid1": b"\x01"},
    "profilePolicyRules": bit_string(1),
}

SMDP_SIGNED2 = {"transactionId": TID, "ccRequiredFlag": True}

PREPARE_DOWNLOAD_RESPONSE = (
    "downloadResponseOk",
    {"euiccSigned2": {"transactionId": TID, "euiccOtpk": OTPK, "hashCc": bytes(32)}, "euiccSignature2": SIG},
)

NOTIFICATION_METADATA = {
    "seqNumber": 12,
    "profileManagementOperation": bit_string(0),
    "notificationAddress": SMDP,
    "iccid": ICCID,
}

INSTALL_RESULT_OK = {
    "profileInstallationResultData": {
        "transactionId": TID,
        "notificationMetadata": NOTIFICATION_METADATA,
        "smdpOid": "2.999.10",
        "finalResult": (
            "successResult",
            {"aid": ISDP_AID, "simaResponse": bytes.fromhex("3007A0053003800100")},
        ),
    },
    "euiccSignPIR": SIG,
}

INSTALL_RESULT_ERROR = {
    "profileInstallationResultData": {
        "transactionId": TID,
        "notificationMetadata": NOTIFICATION_METADATA,
        "smdpOid": "2.999.10",
        "finalResult": ("errorResult", {"bppCommandId": 5, "errorReason": 12, "simaResponse": b"\x30\x00"}),
    },
    "euiccSignPIR": SIG,
}

OTHER_NOTIFICATION = {
    "tbsOtherNotification": {
        **NOTIFICATION_METADATA,
        "seqNumber": 13,
        "profileManagementOperation": bit_string(1),
    },
    "euiccNotificationSignature": SIG,
    "euiccCertificate": EUICC,
    "eumCertificate": EUM,
}

BOUND_PROFILE_PACKAGE = {
    "initialiseSecureChannelRequest": {
        "remoteOpId": 1,
        "transactionId": TID,
        "controlRefTemplate": {"keyType": b"\x88", "keyLen": b"\x10", "hostId": b"\x80" * 8},
        "smdpOtpk": OTPK,
        "smdpSign": SIG,
    },
    "firstSequenceOf87": [bytes(24)],
    "sequenceOf88": [bytes(48), bytes(16)],
    "secondSequenceOf87": [bytes(72)],
    "sequenceOf86": [bytes(1020), bytes(1020), bytes(300)],
}

CANCEL_SESSION_RESPONSE = (
    "cancelSessionResponseOk",
    {
        "euiccCancelSessionSigned": {"transactionId": TID, "smdpOid": "2.999.10", "reason": 0},
        "euiccCancelSessionSignature": SIG,
    },
)

PROFILE_INFO = {
    "iccid": ICCID,
    "isdpAid": ISDP_AID,
    "profileState": 1,
    "profileNickname": "Travel",
    "serviceProviderName": "openrsp Mobile",
    "profileName": "openrsp test profile",
    "iconType": 0,
    "icon": bytes.fromhex("FFD8FFE0") + bytes(20),
    "profileClass": 0,
    "notificationConfigurationInfo": [
        {"profileManagementOperation": bit_string(0, 3), "notificationAddress": SMDP}
    ],
    "profileOwner": {"mccMnc": bytes.fromhex("00F110")},
    "dpProprietaryData": {"dpOid": "2.999.10"},
    "profilePolicyRules": bit_string(2),
}

# (type, value, its tag on the wire [/ the tag of its first member or alternative])
CASES = [
    ("GetEuiccInfo1Request", {}, "BF20"),
    ("EUICCInfo1", EUICC_INFO1, "BF20"),
    ("EUICCInfo2", EUICC_INFO2, "BF22"),
    ("GetEuiccChallengeRequest", {}, "BF2E"),
    (
        "InitiateAuthenticationRequest",
        {"euiccChallenge": bytes(16), "smdpAddress": SMDP, "euiccInfo1": EUICC_INFO1},
        "BF39",
    ),
    (
        "InitiateAuthenticationResponse",
        (
            "initiateAuthenticationOk",
            {
                "transactionId": TID,
                "serverSigned1": SERVER_SIGNED1,
                "serverSignature1": SIG,
                "euiccCiPKIdToBeUsed": CI_PKID,
                "serverCertificate": DPAUTH,
            },
        ),
        "BF39",
    ),
    ("InitiateAuthenticationResponse", ("initiateAuthenticationError", 1), "BF39"),
    ("ServerSigned1", SERVER_SIGNED1, "30"),
    (
        "AuthenticateServerRequest",
        {
            "serverSigned1": SERVER_SIGNED1,
            "serverSignature1": SIG,
            "euiccCiPKIdToBeUsed": CI_PKID,
            "serverCertificate": DPAUTH,
            "ctxParams1": CTX_PARAMS1,
        },
        "BF38",
    ),
    ("AuthenticateServerResponse", AUTHENTICATE_SERVER_RESPONSE, "BF38/A0"),
    (
        "AuthenticateServerResponse",
        ("authenticateResponseError", {"transactionId": TID, "authenticateErrorCode": 6}),
        "BF38",
    ),
    ("EuiccSigned1", EUICC_SIGNED1, "30"),
    (
        "AuthenticateClientRequest",
        {"transactionId": TID, "authenticateServerResponse": AUTHENTICATE_SERVER_RESPONSE},
        "BF3B",
    ),
    (
        "AuthenticateClientResponseEs9",
        (
            "authenticateClientOk",
            {
                "transactionId": TID,
                "profileMetaData": STORE_METADATA,
                "smdpSigned2": SMDP_SIGNED2,
                "smdpSignature2": SIG,
                "smdpCertificate": DPPB,
            },
        ),
        "BF3B",
    ),
    ("AuthenticateClientResponseEs9", ("authenticateClientError", 6), "BF3B"),
    ("StoreMetadataRequest", STORE_METADATA, "BF25/5A"),
    ("SmdpSigned2", {"transactionId": TID, "ccRequiredFlag": False, "bppEuiccOtpk": OTPK}, "30/80"),
    (
        "PrepareDownloadRequest",
        {
            "smdpSigned2": SMDP_SIGNED2,
            "smdpSignature2": SIG,
            "hashCc": bytes(range(32)),
            "smdpCertificate": DPPB,
        },
        "BF21",
    ),
    ("PrepareDownloadResponse", PREPARE_DOWNLOAD_RESPONSE, "BF21"),
    (
        "PrepareDownloadResponse",
        ("downloadResponseError", {"transactionId": TID, "downloadErrorCode": 2}),
        "BF21",
    ),
    (
        "GetBoundProfilePackageRequest",
        {"transactionId": TID, "prepareDownloadResponse": PREPARE_DOWNLOAD_RESPONSE},
        "BF3A",
    ),
    (
        "GetBoundProfilePackageResponse",
        ("getBoundProfilePackageOk", {"transactionId": TID, "boundProfilePackage": BOUND_PROFILE_PACKAGE}),
        "BF3A",
    ),
    ("GetBoundProfilePackageResponse", ("getBoundProfilePackageError", 3), "BF3A"),
    ("BoundProfilePackage", BOUND_PROFILE_PACKAGE, "BF36"),
    ("ConfigureISDPRequest", {"dpProprietaryData": {"dpOid": "2.999.10"}}, "BF24"),
    (
        "ReplaceSessionKeysRequest",
        {"initialMacChainingValue": bytes(16), "ppkEnc": bytes(16), "ppkCmac": bytes(16)},
        "BF26",
    ),
    ("ProfileInstallationResult", INSTALL_RESULT_OK, "BF37"),
    ("ProfileInstallationResult", INSTALL_RESULT_ERROR, "BF37"),
    ("HandleNotification", {"pendingNotification": ("profileInstallationResult", INSTALL_RESULT_OK)}, "BF3D"),
    ("HandleNotification", {"pendingNotification": ("otherSignedNotification", OTHER_NOTIFICATION)}, "BF3D"),
    ("PendingNotification", ("otherSignedNotification", OTHER_NOTIFICATION), "30"),
    ("CancelSessionRequest", {"transactionId": TID, "reason": 1}, "BF41"),
    ("CancelSessionResponse", CANCEL_SESSION_RESPONSE, "BF41/A0"),
    ("CancelSessionResponse", ("cancelSessionResponseError", 5), "BF41"),
    (
        "CancelSessionRequestEs9",
        {"transactionId": TID, "cancelSessionResponse": CANCEL_SESSION_RESPONSE},
        "BF41",
    ),
    ("CancelSessionResponseEs9", ("cancelSessionOk", {}), "BF41"),
    ("ListNotificationRequest", {"profileManagementOperation": bit_string(0)}, "BF28"),
    ("ListNotificationResponse", ("notificationMetadataList", [NOTIFICATION_METADATA]), "BF28/A0"),
    ("ListNotificationResponse", ("listNotificationsResultError", 127), "BF28"),
    (
        "RetrieveNotificationsListRequest",
        {"searchCriteria": ("profileManagementOperation", bit_string(0))},
        "BF2B",
    ),
    (
        "RetrieveNotificationsListResponse",
        (
            "notificationList",
            [
                ("profileInstallationResult", INSTALL_RESULT_ERROR),
                ("otherSignedNotification", OTHER_NOTIFICATION),
            ],
        ),
        "BF2B",
    ),
    ("NotificationSentRequest", {"seqNumber": 12}, "BF30"),
    ("NotificationSentResponse", {"deleteNotificationStatus": 1}, "BF30"),
    (
        "ProfileInfoListRequest",
        {"searchCriteria": ("iccid", ICCID), "tagList": bytes.fromhex("5A4F9F70909192")},
        "BF2D",
    ),
    (
        "ProfileInfoListResponse",
        ("profileInfoListOk", [PROFILE_INFO, {"iccid": ICCID, "profileState": 0}]),
        "BF2D/A0",
    ),
    ("ProfileInfoListResponse", ("profileInfoListError", 1), "BF2D"),
    ("ProfileInfo", PROFILE_INFO, "E3"),
    ("EnableProfileRequest", {"profileIdentifier": ("isdpAid", ISDP_AID), "refreshFlag": True}, "BF31"),
    ("EnableProfileResponse", {"enableResult": 0}, "BF31"),
    ("DisableProfileRequest", {"profileIdentifier": ("iccid", ICCID), "refreshFlag": False}, "BF32"),
    ("DisableProfileResponse", {"disableResult": 3}, "BF32"),
    ("DeleteProfileRequest", ("isdpAid", ISDP_AID), "BF33"),
    ("DeleteProfileResponse", {"deleteResult": 0}, "BF33"),
    ("EuiccMemoryResetRequest", {"resetOptions": bit_string(0, 1, 2)}, "BF34"),
    ("EuiccMemoryResetResponse", {"resetResult": 1}, "BF34"),
    ("GetEuiccDataRequest", {"tagList": b"\x5a"}, "BF3E"),
    ("GetEuiccDataResponse", {"eidValue": EID}, "BF3E"),
    ("SetNicknameRequest", {"iccid": ICCID, "profileNickname": "Zürich data"}, "BF29"),
    ("SetNicknameResponse", {"setNicknameResult": 1}, "BF29"),
    ("EuiccConfiguredAddressesRequest", {}, "BF3C"),
    ("EuiccConfiguredAddressesResponse", {"rootDsAddress": "lpa.ds.gsma.com"}, "BF3C"),
    ("SetDefaultDpAddressRequest", {"defaultDpAddress": SMDP}, "BF3F"),
    ("SetDefaultDpAddressResponse", {"setDefaultDpAddressResult": 0}, "BF3F"),
    ("GetRatRequest", {}, "BF43"),
    (
        "GetRatResponse",
        {
            "rat": [
                {
                    "pprIds": bit_string(1, 2),
                    "allowedOperators": [
                        {"mccMnc": bytes.fromhex("E2F5FF"), "gid1": b"\xff", "gid2": b"\xff"}
                    ],
                    "pprFlags": bit_string(0),
                }
            ]
        },
        "BF43",
    ),
    ("LoadCRLResponse", ("loadCRLResponseError", 4), "BF35"),
    ("LpaeActivationRequest", {"lpaeOption": bit_string(0)}, "BF42"),
    (
        "RemoteProfileProvisioningRequest",
        ("handleNotification", {"pendingNotification": ("profileInstallationResult", INSTALL_RESULT_OK)}),
        "A2",
    ),
    (
        "RemoteProfileProvisioningResponse",
        ("authenticateClientResponseEs9", ("authenticateClientError", 8)),
        "A2",
    ),
    (
        "AuthenticateClientResponseEs11",
        (
            "authenticateClientOk",
            {"transactionId": TID, "eventEntries": [{"eventId": "E1", "rspServerAddress": SMDP}]},
        ),
        "BF40",
    ),
]


@pytest.mark.parametrize(
    ("type_name", "value", "tag"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_round_trip(type_name, value, tag):
    codec = rsp()
    der = codec.encode(type_name, value)
    outer = read_tlv(der)
    assert outer.end == len(der)  # exactly one TLV, nothing after
    outer_tag, _, first_tag = tag.partition("/")
    assert outer.tag == int(outer_tag, 16)
    if first_tag:
        assert outer.children()[0].tag == int(first_tag, 16)
    decoded = codec.decode(type_name, der)
    assert decoded == value
    assert codec.encode(type_name, decoded) == der


def test_nested_objects_keep_their_exact_encoding():
    # what the SM-DP+ signs and the eUICC verifies must appear verbatim inside the envelopes
    codec = rsp()
    request = codec.encode(
        "AuthenticateClientRequest",
        {"transactionId": TID, "authenticateServerResponse": AUTHENTICATE_SERVER_RESPONSE},
    )
    assert codec.encode("AuthenticateServerResponse", AUTHENTICATE_SERVER_RESPONSE) in request
    assert codec.encode("EuiccSigned1", EUICC_SIGNED1) in request
    assert (SGP26 / "eUICC/CERT_EUICC_ECDSA_NIST.der").read_bytes() in request
    assert codec.encode("RspSignature", SIG) in request

    bpp = codec.encode("BoundProfilePackage", BOUND_PROFILE_PACKAGE)
    isc = codec.encode(
        "InitialiseSecureChannelRequest", BOUND_PROFILE_PACKAGE["initialiseSecureChannelRequest"]
    )
    assert bpp[read_tlv(bpp).header_len :].startswith(isc)
    top = read_tlv(bpp).children()
    assert [t.tag for t in top] == [0xBF23, 0xA0, 0xA1, 0xA2, 0xA3]
    assert [t.tag for t in top[4].children()] == [0x86, 0x86, 0x86]
    assert [len(t.value) for t in top[4].children()] == [1020, 1020, 300]

    pir = codec.encode("ProfileInstallationResult", INSTALL_RESULT_OK)
    assert [t.tag for t in read_tlv(pir).children()] == [0xBF27, 0x5F37]


def test_profile_info_uses_the_listed_tags():
    der = rsp().encode("ProfileInfo", PROFILE_INFO)
    tags = [t.tag for t in read_tlv(der).children()]
    assert tags == [0x5A, 0x4F, 0x9F70, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0xB6, 0xB7, 0xB8, 0x99]


def test_es10_function_table_matches_the_module():
    codec = rsp()
    requests = {name: value for name, value, _ in CASES}
    for tag, (request, response) in ES10_FUNCTIONS.items():
        assert codec.has_type(request) and codec.has_type(response)
        if request in requests:
            assert codec.encode(request, requests[request]).startswith(tag_bytes(tag)), request
