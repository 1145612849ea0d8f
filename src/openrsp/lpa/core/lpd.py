"""The Local Profile Download (SGP.22 §3.1.3): one profile from an SM-DP+ into the eUICC.

A `Download` is driven one step at a time (`advance()`), or all at once (`run()`), and talks to the
world only through the objects it is given: an `Es10` (the card), an `Es9Server` (the SM-DP+) and
callbacks for the user (consent, confirmation code, progress). The order is the seed's:

    GetEUICCInfo1 + GetEUICCChallenge → initiateAuthentication → AuthenticateServer →
    authenticateClient → user consent (+ confirmation code) → PrepareDownload →
    getBoundProfilePackage (the whole package in one request) → LoadBoundProfilePackage × n →
    install notification delivered and removed

When anything fails or the user says no once both sides hold the session, `run()` cancels it on the
eUICC (ES10b CancelSession, with the reason that fits) and hands the eUICC's signed answer to the
SM-DP+ (ES9+ cancelSession), then raises the original error. The eUICC installs a profile only
when the last segment has been accepted, so a failed download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from openrsp.asn1.codec import Asn1Error, rsp
from openrsp.asn1.rsp_types import CancelSessionReason
from openrsp.errors import OpenRSPError
from openrsp.es8.segments import BppFormatError, segments_for_lpa
from openrsp.lpa.core.device import DeviceInfo, encode_ctx_params1
from openrsp.lpa.core.errors import (
    DownloadCancelled,
    Es9Failure,
    Es9ProtocolError,
    LpaError,
    ProfileInstallFailed,
    SmdpUnreachable,
)
from openrsp.lpa.core.es10 import Es10, InstallResult, ProfileMetadata, decode_profile_metadata
from openrsp.lpa.core.notifications import NotificationOutcome, NotificationSender
from openrsp.lpa.core.ppr import CHECKED_PPRS, check_pprs, rat_from_response
from openrsp.lpa.core.servers import Es9Server
from openrsp.pki.untrusted import CertificateFormatError, parse_certificate
from openrsp.wire.es9 import AuthenticateClientResult, InitiateAuthenticationResult


class Step(enum.Enum):
    """The steps of a download, in order; `name` is what lpac calls the call made in it."""

    GET_CHALLENGE = "es10b_get_euicc_challenge_and_info"
    INITIATE_AUTHENTICATION = "es9p_initiate_authentication"
    AUTHENTICATE_SERVER = "es10b_authenticate_server"
    AUTHENTICATE_CLIENT = "es9p_authenticate_client"
    USER_CONSENT = "user_consent"
    PREPARE_DOWNLOAD = "es10b_prepare_download"
    GET_BOUND_PROFILE_PACKAGE = "es9p_get_bound_profile_package"
    LOAD_BOUND_PROFILE_PACKAGE = "es10b_load_bound_profile_package"
    SEND_NOTIFICATION = "es9p_handle_notification"
    DONE = "done"


_ORDER = list(Step)
CONFIRMATION_CODE_SUBJECT = "8.2.7"
TRANSACTION_ID_SUBJECT = "8.10.1"


@dataclass(frozen=True)
class DownloadRequest:
    smdp_address: str
    matching_id: str | None = None  # None: none given (default SM-DP+ use case)
    confirmation_code: str | None = None  # given up front; otherwise asked for when needed
    smdp_oid: str | None = None  # from the activation code: CERT.DPauth must carry it
    device: DeviceInfo = field(default_factory=DeviceInfo)


@dataclass(frozen=True)
class LoadProgress:
    segment: int  # 1-based number of the segment just loaded
    segments: int
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True)
class DownloadResult:
    metadata: ProfileMetadata
    install: InstallResult
    notification: NotificationOutcome | None  # None when notifications are left for later


def hash_confirmation_code(code: str, transaction_id: bytes) -> bytes:
    """hashCc = SHA-256(SHA-256(code) || transactionId), the code taken as its UTF-8 bytes."""
    return hashlib.sha256(hashlib.sha256(code.encode("utf-8")).digest() + transaction_id).digest()


def _always_yes(_metadata: ProfileMetadata) -> bool:
    return True


def _no_code(_metadata: ProfileMetadata) -> str | None:
    return None


class Download:
    """One download session between an eUICC and an SM-DP+."""

    def __init__(
        self,
        es10: Es10,
        es9: Es9Server,
        request: DownloadRequest,
        *,
        consent: Callable[[ProfileMetadata], bool] = _always_yes,
        confirmation_code: Callable[[ProfileMetadata], str | None] = _no_code,
        progress: Callable[[LoadProgress], None] | None = None,
        on_step: Callable[[Step], None] | None = None,
        notifications: NotificationSender | None = None,
    ) -> None:
        self.es10 = es10
        self.es9 = es9
        self.request = request
        self._consent = consent
        self._ask_code = confirmation_code
        self._progress = progress
        self._on_step = on_step
        self._notifications = notifications

        self.step = Step.GET_CHALLENGE
        self.transaction_id: bytes | None = None
        self.euicc_in_session = False  # AuthenticateServer succeeded: CancelSession makes sense
        self.metadata: ProfileMetadata | None = None
        self.result: DownloadResult | None = None
        self._challenge = b""
        self._info1 = b""
        self._init_auth: InitiateAuthenticationResult | None = None
        self._auth_server_response = b""
        self._auth_client: AuthenticateClientResult | None = None
        self._hash_cc: bytes | None = None
        self._prepare_response = b""
        self._bpp = b""
        self._install: InstallResult | None = None

    # --- driving ---------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.step is Step.DONE

    def advance(self) -> Step:
        """Run the current step; returns the step that comes next."""
        if self.done:
            raise LpaError("the download is already finished")
        if self._on_step is not None:
            self._on_step(self.step)
        getattr(self, f"_{self.step.name.lower()}")()
        self.step = _ORDER[_ORDER.index(self.step) + 1]
        return self.step

    def run(self) -> DownloadResult:
        """All steps; on failure or refusal the session is cancelled on both sides, then the error raised."""
        try:
            while not self.done:
                self.advance()
        except KeyboardInterrupt:
            error = DownloadCancelled("download interrupted")
            self._cancel_after(error, CancelSessionReason.postponed)
            raise error from None
        except DownloadCancelled as error:
            self._cancel_after(error, error.reason)
            raise
        except BaseException as error:
            self._cancel_after(error, _reason_for(error, self.step))
            raise
        assert self.result is not None
        return self.result

    # --- the steps -------------------------------------------------------------------------------
    def _get_challenge(self) -> None:
        self._info1 = self.es10.get_euicc_info1()
        self._challenge = self.es10.get_euicc_challenge()

    def _initiate_authentication(self) -> None:
        result = self.es9.initiate_authentication(self._challenge, self._info1, self.request.smdp_address)
        self._init_auth = result
        self.transaction_id = result.transaction_id
        self._check_server_signed1(result)
        if self.request.smdp_oid is not None:
            _check_smdp_oid(result.server_certificate, self.request.smdp_oid)

    def _authenticate_server(self) -> None:
        assert self._init_auth is not None
        response = self.es10.authenticate_server(
            server_signed1=self._init_auth.server_signed1,
            server_signature1=self._init_auth.server_signature1,
            euicc_ci_pkid_to_be_used=self._init_auth.euicc_ci_pkid_to_be_used,
            server_certificate=self._init_auth.server_certificate,
            ctx_params1=encode_ctx_params1(self.request.matching_id, self.request.device),
        )
        self._auth_server_response = response
        refused = self.es10.authenticate_server_error(response)
        if refused is not None:
            # The SM-DP+ hears of it through authenticateClient, which then fails; the eUICC's
            # reason is the one worth showing.
            assert self.transaction_id is not None
            with contextlib.suppress(LpaError):
                self.es9.authenticate_client(self.transaction_id, response)
            raise refused
        self.euicc_in_session = True

    def _authenticate_client(self) -> None:
        assert self.transaction_id is not None
        result = self.es9.authenticate_client(self.transaction_id, self._auth_server_response)
        self._auth_client = result
        self.metadata = decode_profile_metadata(result.profile_metadata)

    def _user_consent(self) -> None:
        assert self._auth_client is not None and self.metadata is not None and self.transaction_id is not None
        self._check_policy_rules()
        if not self._consent(self.metadata):
            raise DownloadCancelled("the user refused the profile", CancelSessionReason.endUserRejection)
        if not _cc_required(self._auth_client.smdp_signed2):
            return
        code = self.request.confirmation_code
        if code is None:
            code = self._ask_code(self.metadata)
        if not code:
            raise DownloadCancelled(
                "a confirmation code is needed and none was given", CancelSessionReason.postponed
            )
        self._hash_cc = hash_confirmation_code(code, self.transaction_id)

    def _prepare_download(self) -> None:
        assert self._auth_client is not None and self.transaction_id is not None
        response = self.es10.prepare_download(
            smdp_signed2=self._auth_client.smdp_signed2,
            smdp_signature2=self._auth_client.smdp_signature2,
            smdp_certificate=self._auth_client.smdp_certificate,
            hash_cc=self._hash_cc,
        )
        self._prepare_response = response
        refused = self.es10.prepare_download_error(response)
        if refused is not None:
            with contextlib.suppress(LpaError):  # tell the SM-DP+ through getBoundProfilePackage
                self.es9.get_bound_profile_package(self.transaction_id, response)
            raise refused

    def _get_bound_profile_package(self) -> None:
        assert self.transaction_id is not None
        self._bpp = self.es9.get_bound_profile_package(self.transaction_id, self._prepare_response)

    def _load_bound_profile_package(self) -> None:
        try:
            segments = segments_for_lpa(self._bpp)
        except BppFormatError as exc:
            raise Es9ProtocolError("getBoundProfilePackage", str(exc)) from None
        total = sum(len(s) for s in segments)
        done = 0
        result: InstallResult | None = None
        for number, segment in enumerate(segments, start=1):
            result = self.es10.load_bound_profile_package(segment)
            done += len(segment)
            if self._progress is not None:
                self._progress(LoadProgress(number, len(segments), done, total))
            if result is not None:
                break
        if result is None:
            raise ProfileInstallFailed("loadProfileElements", "the eUICC gave no installation result", 127)
        # From here the eUICC has closed the session itself and holds the result as a notification.
        self.euicc_in_session = False
        self._install = result

    def _send_notification(self) -> None:
        assert self._install is not None and self.metadata is not None
        outcome = None
        if self._notifications is not None:
            outcomes = self._notifications.process([self._install.seq_number])
            outcome = outcomes[0] if outcomes else None
        if not self._install.ok:
            raise ProfileInstallFailed(
                self._install.bpp_command or "?",
                self._install.error_reason or "?",
                self._install.error_reason_code or 127,
                notification=outcome,
                euicc_message=self._install.euicc_message,
            )
        self.result = DownloadResult(self.metadata, self._install, outcome)

    # --- checks ----------------------------------------------------------------------------------
    def _check_policy_rules(self) -> None:
        """PPRs in the metadata: the eUICC's RAT must allow them, or the download is refused before
        consent (SGP.22 §3.1.3.2, CancelSession reason pprNotAllowed)."""
        assert self.metadata is not None
        if not any(rule in CHECKED_PPRS for rule in self.metadata.policy_rules):
            return
        verdict = check_pprs(self.metadata, rat_from_response(self.es10.get_rat()))
        if not verdict.allowed:
            meaning = "; ".join(verdict.meanings)
            raise DownloadCancelled(
                f"the profile's policy rules are not allowed on this eUICC: {verdict.reason}"
                + (f" ({meaning})" if meaning else ""),
                CancelSessionReason.pprNotAllowed,
            )
        if verdict.consent_required:
            self.metadata = dataclasses.replace(self.metadata, policy_consent_required=True)

    def _check_server_signed1(self, result: InitiateAuthenticationResult) -> None:
        try:
            signed = rsp().decode("ServerSigned1", result.server_signed1)
        except Asn1Error as exc:
            raise Es9ProtocolError("initiateAuthentication", f"serverSigned1: {exc}") from None
        if signed["transactionId"] != result.transaction_id:
            raise Es9ProtocolError("initiateAuthentication", "serverSigned1 names another transactionId")
        if signed["euiccChallenge"] != self._challenge:
            raise Es9ProtocolError("initiateAuthentication", "serverSigned1 carries another euiccChallenge")
        if signed["serverAddress"].lower() != self.request.smdp_address.lower():
            # Signed by a genuine DPauth, but for another SM-DP+: no session may start from it.
            raise Es9ProtocolError(
                "initiateAuthentication", f"serverSigned1 names another SM-DP+ ({signed['serverAddress']})"
            )

    # --- cancelling ------------------------------------------------------------------------------
    def _cancel_after(self, error: BaseException, reason: int) -> None:
        """Cancel the session on both sides (best effort) and note what happened on the error."""
        if not self.euicc_in_session or self.transaction_id is None:
            return
        self.euicc_in_session = False
        name = CancelSessionReason(reason).name
        try:
            signed = self.es10.cancel_session(self.transaction_id, reason)
        except (OpenRSPError, KeyboardInterrupt) as exc:
            _note(error, f"cancelling the session on the eUICC failed too: {exc}")
            return
        try:
            self.es9.cancel_session(self.transaction_id, signed)
        except Es9Failure as exc:
            if exc.subject_code == TRANSACTION_ID_SUBJECT:  # it closed the session when it failed
                _note(error, f"session cancelled on the eUICC ({name}); the SM-DP+ had already ended it")
            else:
                _note(error, f"session cancelled on the eUICC ({name}); the SM-DP+ refused to cancel: {exc}")
            return
        except LpaError as exc:
            _note(error, f"session cancelled on the eUICC ({name}); the SM-DP+ could not be told: {exc}")
            return
        _note(error, f"session cancelled on the eUICC and the SM-DP+ ({name})")


def _reason_for(error: BaseException, step: Step) -> CancelSessionReason:
    # An SM-DP+ that does not answer is a timeout to the session: the order stays open for a retry.
    if isinstance(error, SmdpUnreachable):
        return CancelSessionReason.timeout
    # A refused confirmation code ends this session only: the user may try again with a new one.
    if isinstance(error, Es9Failure) and error.subject_code == CONFIRMATION_CODE_SUBJECT:
        return CancelSessionReason.postponed
    if step is Step.LOAD_BOUND_PROFILE_PACKAGE and not isinstance(error, (Es9Failure, SmdpUnreachable)):
        return CancelSessionReason.loadBppExecutionError
    return CancelSessionReason.undefinedReason


def _note(error: BaseException, text: str) -> None:
    error.add_note(text)  # the CLI prints an error's notes under its message


def _cc_required(smdp_signed2: bytes) -> bool:
    try:
        return bool(rsp().decode("SmdpSigned2", smdp_signed2)["ccRequiredFlag"])
    except Asn1Error as exc:
        raise Es9ProtocolError("authenticateClient", f"smdpSigned2: {exc}") from None


def _check_smdp_oid(certificate_der: bytes, oid: str) -> None:
    """The activation code names the SM-DP+ OID: CERT.DPauth must carry it (subjectAltName registeredID)."""
    try:
        certificate = parse_certificate(certificate_der)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        oids = [name.value.dotted_string for name in names if isinstance(name, x509.RegisteredID)]
    except (CertificateFormatError, x509.ExtensionNotFound):
        oids = []
    if oid not in oids:
        found = ", ".join(oids) or "none"
        raise LpaError(
            f"the SM-DP+ is not the one the activation code names: OID {oid} expected, certificate has {found}"
        )
