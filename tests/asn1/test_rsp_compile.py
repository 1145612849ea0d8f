"""The RSP module compiles through openrsp.asn1.codec.rsp(), and a second process reuses the cache."""

import time

from openrsp.asn1 import codec
from openrsp.asn1.codec import Codec, rsp

# Every type the eUICC, LPA and SM-DP+ build or parse, by the specification's names.
REQUIRED_TYPES = [
    "GetEuiccInfo1Request",
    "EUICCInfo1",
    "GetEuiccInfo2Request",
    "EUICCInfo2",
    "GetEuiccChallengeRequest",
    "GetEuiccChallengeResponse",
    "AuthenticateServerRequest",
    "AuthenticateServerResponse",
    "ServerSigned1",
    "EuiccSigned1",
    "CtxParams1",
    "CtxParamsForCommonAuthentication",
    "DeviceInfo",
    "DeviceCapabilities",
    "AuthenticateResponseOk",
    "AuthenticateResponseError",
    "PrepareDownloadRequest",
    "PrepareDownloadResponse",
    "SmdpSigned2",
    "EUICCSigned2",
    "PrepareDownloadResponseOk",
    "PrepareDownloadResponseError",
    "BoundProfilePackage",
    "InitialiseSecureChannelRequest",
    "ControlRefTemplate",
    "ConfigureISDPRequest",
    "StoreMetadataRequest",
    "NotificationConfigurationInformation",
    "OperatorId",
    "PprIds",
    "IconType",
    "ProfileClass",
    "ProfileState",
    "ReplaceSessionKeysRequest",
    "ProfileInstallationResult",
    "ProfileInstallationResultData",
    "ErrorResult",
    "SuccessResult",
    "BppCommandId",
    "ErrorReason",
    "EuiccSignPIR",
    "CancelSessionRequest",
    "CancelSessionResponse",
    "CancelSessionResponseOk",
    "EuiccCancelSessionSigned",
    "ListNotificationRequest",
    "ListNotificationResponse",
    "NotificationMetadata",
    "NotificationEvent",
    "RetrieveNotificationsListRequest",
    "RetrieveNotificationsListResponse",
    "PendingNotification",
    "OtherSignedNotification",
    "NotificationSentRequest",
    "NotificationSentResponse",
    "ProfileInfoListRequest",
    "ProfileInfoListResponse",
    "ProfileInfo",
    "EnableProfileRequest",
    "EnableProfileResponse",
    "DisableProfileRequest",
    "DisableProfileResponse",
    "DeleteProfileRequest",
    "DeleteProfileResponse",
    "EuiccMemoryResetRequest",
    "EuiccMemoryResetResponse",
    "GetEuiccDataRequest",
    "GetEuiccDataResponse",
    "SetNicknameRequest",
    "SetNicknameResponse",
    "EuiccConfiguredAddressesRequest",
    "EuiccConfiguredAddressesResponse",
    "SetDefaultDpAddressRequest",
    "SetDefaultDpAddressResponse",
    "GetRatRequest",
    "GetRatResponse",
    "RulesAuthorisationTable",
    "InitiateAuthenticationRequest",
    "InitiateAuthenticationResponse",
    "InitiateAuthenticationOkEs9",
    "AuthenticateClientRequest",
    "AuthenticateClientResponseEs9",
    "AuthenticateClientOk",
    "GetBoundProfilePackageRequest",
    "GetBoundProfilePackageResponse",
    "GetBoundProfilePackageOk",
    "HandleNotification",
    "CancelSessionRequestEs9",
    "CancelSessionResponseEs9",
    "CancelSessionOk",
    "AuthenticateClientResponseEs11",
    "RemoteProfileProvisioningRequest",
    "RemoteProfileProvisioningResponse",
    "LoadCRLRequest",
    "LoadCRLResponse",
    "RspSignature",
    "OneTimePublicKey",
    "Certificate",
    "TBSCertificate",
    "Name",
    "Extensions",
    "Extension",
    "SubjectPublicKeyInfo",
    "AlgorithmIdentifier",
    "CertificateList",
    "Time",
    "SubjectKeyIdentifier",
    "AuthorityKeyIdentifier",
    "CertificatePolicies",
    "SubjectAltName",
    "BasicConstraints",
    "KeyUsage",
    "NameConstraints",
    "CRLDistributionPoints",
    "ExtKeyUsageSyntax",
    "DirectoryString",
    "X520SerialNumber",
    "ECDSA-Sig-Value",
]


def test_module_compiles_then_loads_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compile_rsp = rsp.__wrapped__  # bypass the per-process memo: each call is a "new process"

    start = time.perf_counter()
    fresh = compile_rsp()
    compiled_in = time.perf_counter() - start

    start = time.perf_counter()
    cached = compile_rsp()
    loaded_in = time.perf_counter() - start

    print(f"\nRSP module: first compile {compiled_in:.3f} s, from cache {loaded_in:.3f} s")
    assert list((tmp_path / "openrsp").glob("asn1-*.pickle")), "no compile cache was written"

    request = {"transactionId": bytes(16), "reason": 2}
    assert fresh.encode("CancelSessionRequest", request) == cached.encode("CancelSessionRequest", request)
    assert cached.decode("CancelSessionRequest", fresh.encode("CancelSessionRequest", request)) == request


def test_every_required_type_is_defined():
    compiled = rsp()
    assert isinstance(compiled, Codec)
    missing = [name for name in REQUIRED_TYPES if not compiled.has_type(name)]
    assert missing == []


def test_rsp_is_compiled_once_per_process():
    assert codec.rsp() is codec.rsp()
