"""Typed ES10a/b/c calls: one method per function, values in, decoded results out.

Each call is one ES10 request over an `Es10Client` (anything with `call(request_der) -> response_der`).
Result codes other than ok raise `Es10Error` carrying the specification's name for the code.

Where the eUICC or the SM-DP+ signed something, the LPA passes the bytes on exactly as received:
requests that carry signed objects (AuthenticateServer, PrepareDownload) are assembled from the raw
TLVs, never re-encoded from decoded values (a re-encoding could drop members a newer peer added).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from openrsp.asn1.choices import unknown_alternative_in
from openrsp.asn1.codec import Asn1Error, rsp
from openrsp.asn1.rsp_types import (
    AuthenticateErrorCode,
    BppCommandId,
    DeleteResult,
    DisableResult,
    DownloadErrorCode,
    EnableResult,
    ErrorReason,
    IconType,
    NotificationEvent,
    PprId,
    ProfileClass,
    ProfileState,
    bits_set,
    code_name,
    iccid_from_bytes,
    iccid_to_bytes,
)
from openrsp.asn1.tlv import TlvError, encode_tlv, read_single_tlv, read_tlv
from openrsp.errors import InputError
from openrsp.hexutil import to_hex
from openrsp.lpa.core.errors import Es10Error, Es10FormatError, LpaInputError
from openrsp.lpa.core.install_reasons import euicc_status_message

TAG_AUTHENTICATE_SERVER = 0xBF38
TAG_PREPARE_DOWNLOAD = 0xBF21
TAG_OCTET_STRING = 0x04
TAG_RETRIEVE_NOTIFICATIONS = 0xBF2B
TAG_PROFILE_INSTALLATION_RESULT = 0xBF37

_NOTIFICATION_EVENT_NAMES = {e.value: e.name.lower() for e in NotificationEvent}
_PPR_NAMES = {PprId.UPDATE_CONTROL: "pprUpdateControl", PprId.PPR1: "ppr1", PprId.PPR2: "ppr2"}


# Result codes of the functions rsp_types has no enum for (names from the ASN.1 module).
class SetNicknameResult(enum.IntEnum):
    ok = 0
    iccidNotFound = 1
    undefinedError = 127


class NotificationSentStatus(enum.IntEnum):
    ok = 0
    nothingToDelete = 1
    undefinedError = 127


class MemoryResetResult(enum.IntEnum):
    ok = 0
    nothingToDelete = 1
    catBusy = 5
    undefinedError = 127


class SetDefaultDpAddressResult(enum.IntEnum):
    ok = 0
    undefinedError = 127


class CancelSessionError(enum.IntEnum):
    invalidTransactionId = 5
    undefinedError = 127


class ProfileInfoListError(enum.IntEnum):
    incorrectInputValues = 1
    undefinedError = 127


class RetrieveNotificationsError(enum.IntEnum):
    noResultAvailable = 1
    undefinedError = 127


class CardLink(Protocol):
    def call(self, request: bytes) -> bytes: ...


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationConfig:
    operations: list[str]  # install / enable / disable / delete
    address: str


@dataclass(frozen=True)
class ProfileMetadata:
    """What StoreMetadata (and ProfileInfo) say about a profile, for consent screens and listings."""

    iccid: str | None
    service_provider_name: str | None
    profile_name: str | None
    profile_class: str = "operational"  # absent means operational
    icon_type: str | None = None  # "png" / "jpg"
    icon: bytes | None = None
    policy_rules: list[str] = field(default_factory=list)  # ppr1, ppr2, ...
    notification_config: list[NotificationConfig] = field(default_factory=list)
    owner_mcc_mnc: str | None = None
    # set by the LPA before consent: the eUICC's RAT wants the user's consent to the PPRs
    policy_consent_required: bool = False


@dataclass(frozen=True)
class ProfileInfo(ProfileMetadata):
    isdp_aid: bytes | None = None
    state: str | None = None  # "enabled" / "disabled"
    nickname: str | None = None


@dataclass(frozen=True)
class NotificationMetadata:
    seq_number: int
    operation: str  # install / enable / disable / delete
    address: str
    iccid: str | None


@dataclass(frozen=True)
class PendingNotification:
    metadata: NotificationMetadata
    der: bytes  # the signed PendingNotification as the eUICC gave it (BF37 or 30)


@dataclass(frozen=True)
class InstallResult:
    """A ProfileInstallationResult (BF37): success with the ISD-P AID, or the failing command and reason."""

    der: bytes
    transaction_id: bytes
    seq_number: int
    notification_address: str
    iccid: str | None
    isdp_aid: bytes | None
    bpp_command: str | None = None
    error_reason: str | None = None
    error_reason_code: int | None = None
    euicc_message: str | None = None  # the eUICC's own words for a refusal (statusMessage), if any

    @property
    def ok(self) -> bool:
        return self.isdp_aid is not None


@dataclass(frozen=True)
class ConfiguredAddresses:
    default_dp_address: str | None
    root_ds_address: str | None


# --- small decoders --------------------------------------------------------------------------------


def _enum_name(codes: Any, value: int | None, default: str | None = None) -> str | None:
    return default if value is None else code_name(codes, value)


def _bit_names(value: tuple[bytes, int] | None, names: dict[int, str]) -> list[str]:
    if value is None:
        return []
    return [names.get(bit, f"bit{bit}") for bit in sorted(bits_set(value))]


def _iccid(value: bytes | None) -> str | None:
    return None if value is None else iccid_from_bytes(value)


def _notification_config(value: list[dict[str, Any]] | None) -> list[NotificationConfig]:
    return [
        NotificationConfig(
            _bit_names(item["profileManagementOperation"], _NOTIFICATION_EVENT_NAMES),
            item["notificationAddress"],
        )
        for item in value or []
    ]


def _metadata_fields(value: dict[str, Any]) -> dict[str, Any]:
    owner = value.get("profileOwner")
    return {
        "iccid": _iccid(value.get("iccid")),
        "service_provider_name": value.get("serviceProviderName"),
        "profile_name": value.get("profileName"),
        "profile_class": code_name(ProfileClass, value.get("profileClass", ProfileClass.operational)),
        "icon_type": _enum_name(IconType, value.get("iconType")),
        "icon": value.get("icon"),
        "policy_rules": _bit_names(value.get("profilePolicyRules"), _PPR_NAMES),
        "notification_config": _notification_config(value.get("notificationConfigurationInfo")),
        "owner_mcc_mnc": to_hex(owner["mccMnc"]) if owner else None,
    }


def decode_profile_metadata(der: bytes) -> ProfileMetadata:
    """StoreMetadataRequest (BF25), as ES9+ authenticateClient hands it over in profileMetadata."""
    try:
        value = rsp().decode("StoreMetadataRequest", der)
    except Asn1Error as exc:
        raise Es10FormatError(f"profile metadata: {exc}") from None
    if unknown_alternative_in(value):
        raise Es10FormatError("profile metadata holds an alternative this LPA does not know")
    return ProfileMetadata(**_metadata_fields(value))


def _notification_metadata(value: dict[str, Any]) -> NotificationMetadata:
    operations = _bit_names(value["profileManagementOperation"], _NOTIFICATION_EVENT_NAMES)
    return NotificationMetadata(
        seq_number=value["seqNumber"],
        operation=operations[0] if len(operations) == 1 else "+".join(operations) or "none",
        address=value["notificationAddress"],
        iccid=_iccid(value.get("iccid")),
    )


def decode_install_result(der: bytes) -> InstallResult:
    """ProfileInstallationResult (BF37): the last answer of LoadBoundProfilePackage."""
    try:
        value = rsp().decode("ProfileInstallationResult", der)
    except Asn1Error as exc:
        raise Es10FormatError(f"profile installation result: {exc}") from None
    if unknown_alternative_in(value):
        raise Es10FormatError("profile installation result holds an alternative this LPA does not know")
    data = value["profileInstallationResultData"]
    meta = _notification_metadata(data["notificationMetadata"])
    kind, outcome = data["finalResult"]
    common = {
        "der": der,
        "transaction_id": data["transactionId"],
        "seq_number": meta.seq_number,
        "notification_address": meta.address,
        "iccid": meta.iccid,
    }
    if kind == "successResult":
        return InstallResult(isdp_aid=outcome["aid"], **common)
    return InstallResult(
        isdp_aid=None,
        bpp_command=code_name(BppCommandId, outcome["bppCommandId"]),
        error_reason=code_name(ErrorReason, outcome["errorReason"]),
        error_reason_code=outcome["errorReason"],
        euicc_message=euicc_status_message(outcome.get("simaResponse")),
        **common,
    )


def profile_identifier(text: str) -> tuple[str, bytes]:
    """An ICCID (digits) or an ISD-P AID (hex, 'A0...') as the ES10c profileIdentifier CHOICE."""
    cleaned = text.strip().upper()
    if cleaned.startswith("A0") and len(cleaned) in range(10, 33, 2):
        try:
            return "isdpAid", bytes.fromhex(cleaned)
        except ValueError:
            pass
    try:
        return "iccid", iccid_to_bytes(cleaned)
    except InputError:
        raise LpaInputError(f"{text!r} is neither an ICCID (18-20 digits) nor an ISD-P AID (hex)") from None


# --- the ES10 functions ----------------------------------------------------------------------------


class Es10:
    """The ES10 functions an LPA uses, on one card link."""

    def __init__(self, link: CardLink) -> None:
        self.link = link
        self.codec = rsp()

    def _raw(self, request: bytes, step: str) -> bytes:
        response = self.link.call(request)
        if not response:
            raise Es10FormatError(f"{step}: the eUICC gave an empty answer")
        return response

    def _call(self, request_type: str, value: Any, response_type: str, step: str) -> Any:
        response = self._raw(self.codec.encode(request_type, value), step)
        return self._decode(response_type, response, step)

    def _decode(self, response_type: str, der: bytes, step: str) -> Any:
        try:
            value = self.codec.decode(response_type, der)
        except Asn1Error as exc:
            raise Es10FormatError(f"{step}: {exc}") from None
        if unknown_alternative_in(value):
            raise Es10FormatError(f"{step}: an answer holding an alternative this LPA does not know")
        return value

    # --- ES10b: authentication and download --------------------------------------------------
    def get_euicc_info1(self) -> bytes:
        """EUICCInfo1 (BF20) as the card encoded it: ES9+ initiateAuthentication forwards it as is."""
        der = self._raw(self.codec.encode("GetEuiccInfo1Request", {}), "es10b_get_euicc_info1")
        self._decode("EUICCInfo1", der, "es10b_get_euicc_info1")
        return der

    def get_euicc_challenge(self) -> bytes:
        value = self._call(
            "GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse", "es10b_get_euicc_challenge"
        )
        return value["euiccChallenge"]

    def authenticate_server(
        self,
        *,
        server_signed1: bytes,
        server_signature1: bytes,
        euicc_ci_pkid_to_be_used: bytes,
        server_certificate: bytes,
        ctx_params1: bytes,
    ) -> bytes:
        """AuthenticateServer (BF38) from the SM-DP+'s TLVs; returns the whole response, ok or error.

        The LPA forwards an error response to the SM-DP+ as well (so it can close the session);
        `authenticate_server_error` says whether it is one.
        """
        body = (
            server_signed1 + server_signature1 + euicc_ci_pkid_to_be_used + server_certificate + ctx_params1
        )
        der = self._raw(encode_tlv(TAG_AUTHENTICATE_SERVER, body), "es10b_authenticate_server")
        self._decode("AuthenticateServerResponse", der, "es10b_authenticate_server")
        return der

    def authenticate_server_error(self, response: bytes) -> Es10Error | None:
        kind, value = self._decode("AuthenticateServerResponse", response, "es10b_authenticate_server")
        if kind == "authenticateResponseOk":
            return None
        code = value["authenticateErrorCode"]
        return Es10Error(
            "AuthenticateServer",
            code,
            code_name(AuthenticateErrorCode, code),
            step="es10b_authenticate_server",
        )

    def prepare_download(
        self,
        *,
        smdp_signed2: bytes,
        smdp_signature2: bytes,
        smdp_certificate: bytes,
        hash_cc: bytes | None = None,
    ) -> bytes:
        """PrepareDownload (BF21) from the SM-DP+'s TLVs; returns the whole response, ok or error."""
        cc = encode_tlv(TAG_OCTET_STRING, hash_cc) if hash_cc is not None else b""
        body = smdp_signed2 + smdp_signature2 + cc + smdp_certificate
        der = self._raw(encode_tlv(TAG_PREPARE_DOWNLOAD, body), "es10b_prepare_download")
        self._decode("PrepareDownloadResponse", der, "es10b_prepare_download")
        return der

    def prepare_download_error(self, response: bytes) -> Es10Error | None:
        kind, value = self._decode("PrepareDownloadResponse", response, "es10b_prepare_download")
        if kind == "downloadResponseOk":
            return None
        code = value["downloadErrorCode"]
        return Es10Error(
            "PrepareDownload", code, code_name(DownloadErrorCode, code), step="es10b_prepare_download"
        )

    def load_bound_profile_package(self, segment: bytes) -> InstallResult | None:
        """One LoadBoundProfilePackage segment; the installation result once the card gives it."""
        response = self.link.call(segment)
        if not response:
            return None
        try:
            read_single_tlv(response, TAG_PROFILE_INSTALLATION_RESULT)
        except TlvError as exc:
            raise Es10FormatError(f"es10b_load_bound_profile_package: {exc}") from None
        return decode_install_result(response)

    def cancel_session(self, transaction_id: bytes, reason: int) -> bytes:
        """CancelSession (BF41); returns the eUICC's signed answer for ES9+ cancelSession."""
        request = self.codec.encode(
            "CancelSessionRequest", {"transactionId": transaction_id, "reason": reason}
        )
        der = self._raw(request, "es10b_cancel_session")
        kind, value = self._decode("CancelSessionResponse", der, "es10b_cancel_session")
        if kind == "cancelSessionResponseError":
            raise Es10Error(
                "CancelSession", value, code_name(CancelSessionError, value), step="es10b_cancel_session"
            )
        return der

    # --- ES10b: notifications -----------------------------------------------------------------
    def list_notifications(self) -> list[NotificationMetadata]:
        kind, value = self._call(
            "ListNotificationRequest", {}, "ListNotificationResponse", "es10b_list_notification"
        )
        if kind != "notificationMetadataList":
            raise Es10Error("ListNotification", value, "undefinedError", step="es10b_list_notification")
        return [_notification_metadata(item) for item in value]

    def retrieve_notifications(self, seq_number: int | None = None) -> list[PendingNotification]:
        """The signed notifications (all, or the one with this sequence number), bytes as received."""
        request: dict[str, Any] = {} if seq_number is None else {"searchCriteria": ("seqNumber", seq_number)}
        step = "es10b_retrieve_notifications_list"
        der = self._raw(self.codec.encode("RetrieveNotificationsListRequest", request), step)
        kind, value = self._decode("RetrieveNotificationsListResponse", der, step)
        if kind != "notificationList":
            if value == 1:  # noResultAvailable
                return []
            raise Es10Error(
                "RetrieveNotificationsList", value, code_name(RetrieveNotificationsError, value), step=step
            )
        try:
            # Keep each PendingNotification's bytes: the SM-DP+ checks the eUICC's signature on them.
            inner = read_single_tlv(der, TAG_RETRIEVE_NOTIFICATIONS).value
            raws = [tlv.raw for tlv in read_tlv(inner).children()]
        except TlvError as exc:
            raise Es10FormatError(f"{step}: {exc}") from None
        result = []
        for raw, (choice, item) in zip(raws, value, strict=True):
            meta = (
                item["profileInstallationResultData"]["notificationMetadata"]
                if choice == "profileInstallationResult"
                else item["tbsOtherNotification"]
            )
            result.append(PendingNotification(_notification_metadata(meta), raw))
        return result

    def remove_notification(self, seq_number: int) -> bool:
        """RemoveNotificationFromList; False when there was nothing with that number."""
        value = self._call(
            "NotificationSentRequest",
            {"seqNumber": seq_number},
            "NotificationSentResponse",
            "es10b_remove_notification_from_list",
        )
        status = value["deleteNotificationStatus"]
        if status in (NotificationSentStatus.ok, NotificationSentStatus.nothingToDelete):
            return status == NotificationSentStatus.ok
        raise Es10Error(
            "RemoveNotificationFromList",
            status,
            code_name(NotificationSentStatus, status),
            step="es10b_remove_notification_from_list",
        )

    # --- ES10c: profiles ----------------------------------------------------------------------
    def get_profiles_info(self) -> list[ProfileInfo]:
        kind, value = self._call(
            "ProfileInfoListRequest", {}, "ProfileInfoListResponse", "es10c_get_profiles_info"
        )
        if kind != "profileInfoListOk":
            raise Es10Error(
                "GetProfilesInfo",
                value,
                code_name(ProfileInfoListError, value),
                step="es10c_get_profiles_info",
            )
        profiles = []
        for item in value:
            state = item.get("profileState")
            profiles.append(
                ProfileInfo(
                    **_metadata_fields(item),
                    isdp_aid=item.get("isdpAid"),
                    state=None if state is None else code_name(ProfileState, state),
                    nickname=item.get("profileNickname"),
                )
            )
        return profiles

    def enable_profile(self, profile: str, refresh: bool = True) -> None:
        request = {"profileIdentifier": profile_identifier(profile), "refreshFlag": refresh}
        value = self._call("EnableProfileRequest", request, "EnableProfileResponse", "es10c_enable_profile")
        self._check("EnableProfile", value["enableResult"], EnableResult, "es10c_enable_profile")

    def disable_profile(self, profile: str, refresh: bool = True) -> None:
        request = {"profileIdentifier": profile_identifier(profile), "refreshFlag": refresh}
        value = self._call(
            "DisableProfileRequest", request, "DisableProfileResponse", "es10c_disable_profile"
        )
        self._check("DisableProfile", value["disableResult"], DisableResult, "es10c_disable_profile")

    def delete_profile(self, profile: str) -> None:
        value = self._call(
            "DeleteProfileRequest",
            profile_identifier(profile),
            "DeleteProfileResponse",
            "es10c_delete_profile",
        )
        self._check("DeleteProfile", value["deleteResult"], DeleteResult, "es10c_delete_profile")

    def set_nickname(self, iccid: str, nickname: str) -> None:
        if len(nickname.encode()) > 64:
            raise LpaInputError("a nickname holds at most 64 bytes of UTF-8")
        kind, identifier = profile_identifier(iccid)
        if kind != "iccid":
            raise LpaInputError("SetNickname needs the profile's ICCID, not its AID")
        value = self._call(
            "SetNicknameRequest",
            {"iccid": identifier, "profileNickname": nickname},
            "SetNicknameResponse",
            "es10c_set_nickname",
        )
        self._check("SetNickname", value["setNicknameResult"], SetNicknameResult, "es10c_set_nickname")

    def memory_reset(
        self, *, operational: bool = True, test: bool = True, default_smdp_address: bool = True
    ) -> bool:
        """eUICCMemoryReset; False when there was nothing to delete."""
        bits = [i for i, wanted in enumerate((operational, test, default_smdp_address)) if wanted]
        if not bits:
            raise LpaInputError("memory reset needs at least one thing to reset")
        nbits = max(bits) + 1
        data = bytes([sum(0x80 >> b for b in bits)])
        value = self._call(
            "EuiccMemoryResetRequest",
            {"resetOptions": (data, nbits)},
            "EuiccMemoryResetResponse",
            "es10c_euicc_memory_reset",
        )
        result = value["resetResult"]
        if result == MemoryResetResult.nothingToDelete:
            return False
        self._check("eUICCMemoryReset", result, MemoryResetResult, "es10c_euicc_memory_reset")
        return True

    def get_eid(self) -> str:
        value = self._call(
            "GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse", "es10c_get_eid"
        )
        return to_hex(value["eidValue"])

    # --- ES10a: addresses, ES10b: EUICCInfo2 ----------------------------------------------------
    def get_configured_addresses(self) -> ConfiguredAddresses:
        value = self._call(
            "EuiccConfiguredAddressesRequest",
            {},
            "EuiccConfiguredAddressesResponse",
            "es10a_get_euicc_configured_addresses",
        )
        return ConfiguredAddresses(value.get("defaultDpAddress") or None, value.get("rootDsAddress") or None)

    def set_default_dp_address(self, address: str) -> None:
        value = self._call(
            "SetDefaultDpAddressRequest",
            {"defaultDpAddress": address},
            "SetDefaultDpAddressResponse",
            "es10a_set_default_dp_address",
        )
        self._check(
            "SetDefaultDpAddress",
            value["setDefaultDpAddressResult"],
            SetDefaultDpAddressResult,
            "es10a_set_default_dp_address",
        )

    def get_euicc_info2(self) -> dict[str, Any]:
        """EUICCInfo2 (BF22) as decoded values."""
        return self._call("GetEuiccInfo2Request", {}, "EUICCInfo2", "es10b_get_euicc_info2")

    def get_rat(self) -> dict[str, Any]:
        """ES10b GetRAT (BF43): the rules authorisation table, as decoded values."""
        return self._call("GetRatRequest", {}, "GetRatResponse", "es10b_get_rat")

    @staticmethod
    def _check(function: str, result: int, codes: Any, step: str) -> None:
        if result != 0:
            raise Es10Error(function, result, code_name(codes, result), step=step)
