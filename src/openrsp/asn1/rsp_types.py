"""Small helpers around the RSPDefinitions values: ICCID coding, BIT STRING flags, named codes,
and which ES10 request tag maps to which request and response type.

asn1tools gives INTEGERs with named numbers as plain ints and BIT STRINGs as (bytes, nbits);
these helpers turn them into something a person (or a test) can read.
"""

from __future__ import annotations

import enum

from openrsp.errors import InputError

# ---------------------------------------------------------------------------------------------
# ICCID: 10 bytes of BCD with the nibbles of each byte swapped, padded with F ('5A' in RSP)
# ---------------------------------------------------------------------------------------------


def iccid_to_bytes(iccid: str) -> bytes:
    """'8901...' (18 to 20 digits) to the 10 bytes RSP carries: '98 10 ...', padded with F."""
    digits = iccid.strip().upper()
    if not 18 <= len(digits) <= 20 or not all(c in "0123456789F" for c in digits):
        raise InputError(f"ICCID must be 18 to 20 digits: {iccid!r}")
    digits = digits.ljust(20, "F")
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, 20, 2)))


def iccid_from_bytes(data: bytes) -> str:
    """The 10 bytes of an Iccid back to its digits, without the F padding."""
    if len(data) != 10:
        raise InputError(f"ICCID must be 10 bytes, got {len(data)}")
    swapped = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    return swapped.rstrip("F")


# ---------------------------------------------------------------------------------------------
# BIT STRING flags (NotificationEvent, PprIds, RspCapability, ...)
# ---------------------------------------------------------------------------------------------


def bit_string(*bits: int) -> tuple[bytes, int]:
    """The asn1tools value with exactly these bit numbers set (bit 0 is the first, leftmost),
    trailing zero bits dropped as DER requires for named-bit lists."""
    if not bits:
        return b"", 0
    nbits = max(bits) + 1
    data = bytearray((nbits + 7) // 8)
    for bit in bits:
        data[bit // 8] |= 0x80 >> (bit % 8)
    return bytes(data), nbits


def bits_set(value: tuple[bytes, int]) -> set[int]:
    """The bit numbers set in an asn1tools BIT STRING value."""
    data, nbits = value
    return {i for i in range(nbits) if data[i // 8] & (0x80 >> (i % 8))}


class NotificationEvent(enum.IntEnum):
    """Bit numbers of NotificationEvent."""

    INSTALL = 0
    ENABLE = 1
    DISABLE = 2
    DELETE = 3


class PprId(enum.IntEnum):
    """Bit numbers of PprIds."""

    UPDATE_CONTROL = 0
    PPR1 = 1  # may not be disabled
    PPR2 = 2  # may not be deleted


# ---------------------------------------------------------------------------------------------
# Named INTEGER values
# ---------------------------------------------------------------------------------------------


class ProfileState(enum.IntEnum):
    disabled = 0
    enabled = 1


class ProfileClass(enum.IntEnum):
    test = 0
    provisioning = 1
    operational = 2  # also what an absent profileClass means


class IconType(enum.IntEnum):
    jpg = 0
    png = 1


class AuthenticateErrorCode(enum.IntEnum):
    invalidCertificate = 1
    invalidSignature = 2
    unsupportedCurve = 3
    noSessionContext = 4
    invalidOid = 5
    euiccChallengeMismatch = 6
    ciPKUnknown = 7
    undefinedError = 127


class DownloadErrorCode(enum.IntEnum):
    invalidCertificate = 1
    invalidSignature = 2
    unsupportedCurve = 3
    noSessionContext = 4
    invalidTransactionId = 5
    undefinedError = 127


class BppCommandId(enum.IntEnum):
    initialiseSecureChannel = 0
    configureISDP = 1
    storeMetadata = 2
    storeMetadata2 = 3
    replaceSessionKeys = 4
    loadProfileElements = 5


class ErrorReason(enum.IntEnum):
    """ProfileInstallationResult errorReason (v2.5 list; other values print as unknown)."""

    incorrectInputValues = 1
    invalidSignature = 2
    invalidTransactionId = 3
    unsupportedCrtValues = 4
    unsupportedRemoteOperationType = 5
    unsupportedProfileClass = 6
    scp03tStructureError = 7
    scp03tSecurityError = 8
    installFailedDueToIccidAlreadyExistsOnEuicc = 9
    installFailedDueToInsufficientMemoryForProfile = 10
    installFailedDueToInterruption = 11
    installFailedDueToPEProcessingError = 12
    installFailedDueToDataMismatch = 13
    testProfileInstallFailedDueToInvalidNaaKey = 14
    pprNotAllowed = 15
    installFailedDueToInsufficientMinimumSecurityLevel = 31
    installFailedDueToServerAddressAbsentInEuiccAllowList = 32
    installFailedDueToUnknownError = 127


class CancelSessionReason(enum.IntEnum):
    endUserRejection = 0
    postponed = 1
    timeout = 2
    pprNotAllowed = 3
    metadataMismatch = 4
    loadBppExecutionError = 5
    undefinedReason = 127


class EnableResult(enum.IntEnum):
    ok = 0
    iccidOrAidNotFound = 1
    profileNotInDisabledState = 2
    disallowedByPolicy = 3
    wrongProfileReenabling = 4
    catBusy = 5
    undefinedError = 127


class DisableResult(enum.IntEnum):
    ok = 0
    iccidOrAidNotFound = 1
    profileNotInEnabledState = 2
    disallowedByPolicy = 3
    catBusy = 5
    undefinedError = 127


class DeleteResult(enum.IntEnum):
    ok = 0
    iccidOrAidNotFound = 1
    profileNotInDisabledState = 2
    disallowedByPolicy = 3
    undefinedError = 127


def code_name(codes: type[enum.IntEnum], value: int) -> str:
    """The spec's name of a code, or 'unknown(N)' for values a newer peer may send."""
    try:
        return codes(value).name
    except ValueError:
        return f"unknown({value})"


# ---------------------------------------------------------------------------------------------
# ES10 functions: request tag -> (request type, response type) in the rsp() codec
# ---------------------------------------------------------------------------------------------

ES10_FUNCTIONS: dict[int, tuple[str, str]] = {
    0xBF20: ("GetEuiccInfo1Request", "EUICCInfo1"),
    0xBF21: ("PrepareDownloadRequest", "PrepareDownloadResponse"),
    0xBF22: ("GetEuiccInfo2Request", "EUICCInfo2"),
    0xBF28: ("ListNotificationRequest", "ListNotificationResponse"),
    0xBF29: ("SetNicknameRequest", "SetNicknameResponse"),
    0xBF2B: ("RetrieveNotificationsListRequest", "RetrieveNotificationsListResponse"),
    0xBF2D: ("ProfileInfoListRequest", "ProfileInfoListResponse"),
    0xBF2E: ("GetEuiccChallengeRequest", "GetEuiccChallengeResponse"),
    0xBF30: ("NotificationSentRequest", "NotificationSentResponse"),
    0xBF31: ("EnableProfileRequest", "EnableProfileResponse"),
    0xBF32: ("DisableProfileRequest", "DisableProfileResponse"),
    0xBF33: ("DeleteProfileRequest", "DeleteProfileResponse"),
    0xBF34: ("EuiccMemoryResetRequest", "EuiccMemoryResetResponse"),
    0xBF35: ("LoadCRLRequest", "LoadCRLResponse"),
    0xBF38: ("AuthenticateServerRequest", "AuthenticateServerResponse"),
    0xBF3C: ("EuiccConfiguredAddressesRequest", "EuiccConfiguredAddressesResponse"),
    0xBF3E: ("GetEuiccDataRequest", "GetEuiccDataResponse"),
    0xBF3F: ("SetDefaultDpAddressRequest", "SetDefaultDpAddressResponse"),
    0xBF41: ("CancelSessionRequest", "CancelSessionResponse"),
    0xBF42: ("LpaeActivationRequest", "LpaeActivationResponse"),
    0xBF43: ("GetRatRequest", "GetRatResponse"),
    # LoadBoundProfilePackage (BF36) is fed in segments, not decoded whole: its answer is a
    # ProfileInstallationResult (BF37).
}
