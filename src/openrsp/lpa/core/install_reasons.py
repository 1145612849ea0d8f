"""Why an eUICC refused a bound profile package, in words (SGP.22 §2.5.6, §5.7.6).

A ProfileInstallationResult errorResult carries two codes: bppCommandId (which part of the package)
and errorReason (what went wrong). This module says what SGP.22 means by each, and reads the eUICC's
own words when it gave some: the optional simaResponse of the errorResult is a SAIP EUICCResponse
whose statusMessage (up to 64 characters) the openrsp eUICC fills with its exact reason.
"""

from __future__ import annotations

from openrsp.asn1 import Asn1Error, saip

PART_MEANINGS: dict[str, str] = {
    "initialiseSecureChannel": "setting up the secure channel (BF23)",
    "configureISDP": "configuring the ISD-P (first 87 segment)",
    "storeMetadata": "storing the profile metadata (88 segments)",
    "storeMetadata2": "storing the profile metadata (88 segments)",
    "replaceSessionKeys": "replacing the session keys (A2)",
    "loadProfileElements": "loading the profile elements (86 segments)",
}

REASON_MEANINGS: dict[str, str] = {
    "incorrectInputValues": "a command carried values the eUICC does not accept",
    "invalidSignature": "the SM-DP+'s signature over the secure channel does not verify",
    "invalidTransactionId": "the package belongs to another (or no) download session",
    "unsupportedCrtValues": "the key type or key length of the secure channel is not supported",
    "unsupportedRemoteOperationType": "the package asks for an operation other than installing it",
    "unsupportedProfileClass": "the eUICC does not take profiles of this class",
    "scp03tStructureError": "a protected segment is malformed (BSP/SCP03t structure)",
    "scp03tSecurityError": "a protected segment fails its MAC check (BSP/SCP03t security)",
    "installFailedDueToIccidAlreadyExistsOnEuicc": "a profile with this ICCID is already on the eUICC",
    "installFailedDueToInsufficientMemoryForProfile": "the eUICC has not enough memory for the profile",
    "installFailedDueToInterruption": "the installation was interrupted",
    "installFailedDueToPEProcessingError": "a profile element could not be processed",
    "installFailedDueToDataMismatch": "the package does not match its metadata (ICCID)",
    "testProfileInstallFailedDueToInvalidNaaKey": "the test profile's network access key is invalid",
    "pprNotAllowed": "the profile policy rules are not allowed on this eUICC (RAT)",
    "installFailedDueToUnknownError": "the eUICC failed for a reason it does not name",
}


def reason_meaning(reason: str) -> str | None:
    return REASON_MEANINGS.get(reason)


def part_meaning(command: str) -> str | None:
    return PART_MEANINGS.get(command)


def euicc_status_message(sima_response: bytes | None) -> str | None:
    """The statusMessage of an errorResult's simaResponse (EUICCResponse), if it decodes and has one."""
    if not sima_response:
        return None
    try:
        value = saip().decode("EUICCResponse", sima_response)
    except Asn1Error:
        return None  # a card's private bytes: the codes still say what failed
    message = value.get("statusMessage")
    return message if isinstance(message, str) and message else None
