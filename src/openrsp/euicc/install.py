"""The eUICC's installation of a bound profile package (SGP.22 §3.1.3.3), fed by es10b_load.py.

The LPA sends the BPP in pieces (sgp22-essentials.md §5). `BppLoader` consumes them as one byte
stream cut at TLV boundaries: the BF36 header with BF23, A0 whole, the A1 header then each 88, A2
whole, the A3 header then each 86 (a piece may also hold several of these, or the whole package).
Everything it learns stays in memory; the profile reaches the eUICC state in one transaction, only
after the last 86 segment has been verified, decrypted and parsed. The ES8+ parts (BF23, the BSP,
the sequences) are es8/open.py's; this module adds what only the eUICC knows (session, policy, ISD-P). Any failure is a typed
`InstallError(bppCommandId, errorReason)` that becomes a signed ProfileInstallationResult.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from openrsp.asn1 import Asn1Error, rsp, saip
from openrsp.asn1.rsp_types import BppCommandId, ErrorReason, iccid_from_bytes
from openrsp.asn1.tlv import Tlv, TlvError, iter_tlvs, read_length, read_tag, read_tlv
from openrsp.crypto.errors import BspMacError, BspStructureError
from openrsp.errors import OpenRSPError
from openrsp.es8.bsp import TAG_ENCRYPTED, BspReceiver
from openrsp.es8.open import (
    SecureChannelError,
    accept_second_sequence,
    open_secure_channel,
    unprotect_sequence,
)
from openrsp.es8.segments import TAG_BPP, TAG_INITIALISE_SECURE_CHANNEL
from openrsp.euicc.bits import decode_bits
from openrsp.euicc.certs import public_key
from openrsp.euicc.core import Euicc, SessionContext
from openrsp.euicc.policy import ppr_allowed
from openrsp.euicc.profile_content import ProfileContentError, profile_from_package
from openrsp.euicc.session import (
    BPP_COMMAND_ID_OF_PHASE,
    BPP_COMMAND_ID_OF_SEGMENT,
    BppPhase,
    OutOfOrderError,
    Segment,
    next_phase,
)
from openrsp.euicc.state import (
    CLASS_NAMES,
    CLASS_OPERATIONAL,
    EVENTS,
    PPR_NAMES,
    NotificationConfig,
    OperatorId,
    Profile,
)

log = logging.getLogger(__name__)

ISDP_AID_PREFIX = bytes.fromhex("A0000005591010FFFFFFFF89")

_SEGMENT_OF_TAG = {
    0xA0: Segment.A0,
    0xA1: Segment.A1_HEADER,
    0x88: Segment.S88,
    0xA2: Segment.A2,
    0xA3: Segment.A3_HEADER,
    0x86: Segment.S86,
}
_CONTAINERS = (0xA1, 0xA3)  # only their header arrives as one piece; their children follow


class InstallError(OpenRSPError):
    """A failed installation step: what ProfileInstallationResult.errorResult reports."""

    def __init__(self, command: int, reason: int, message: str = "") -> None:
        super().__init__(message or f"bppCommandId {command}, errorReason {reason}")
        self.command = command
        self.reason = reason
        self.detail = message  # the eUICC's own words, reported in the result's statusMessage


def isdp_aid(index: int) -> bytes:
    """ISD-P AIDs as commercial eUICCs number them: ...89 00001000, ...89 00002000, ..."""
    return ISDP_AID_PREFIX + (index * 0x1000).to_bytes(4, "big")


def sima_response_ok() -> bytes:
    return saip().encode("EUICCResponse", {"peStatus": [{"status": 0}]})


STATUS_MESSAGE_MAX = 64  # EUICCResponse.statusMessage is UTF8String (SIZE (2..64))


def sima_response_refused(detail: str) -> bytes | None:
    """EUICCResponse saying why the installation stopped, or None when there is nothing to say.

    SGP.22's ErrorResult carries only bppCommandId and errorReason; its optional simaResponse is
    the one standard place a card can put words (SAIP's statusMessage), and every LPA gets them.
    """
    text = " ".join(detail.split())[:STATUS_MESSAGE_MAX]
    if len(text) < 2:
        return None
    value = {"peStatus": [], "profileInstallationAborted": None, "statusMessage": text}
    return saip().encode("EUICCResponse", value)


@dataclass
class _Metadata:
    iccid: str
    value: dict[str, Any]


@dataclass
class BppLoader:
    """One bound profile package being received. Lives in memory only."""

    euicc: Euicc
    context: SessionContext
    phase: BppPhase | None = None  # None: the BF36 header and BF23 not seen yet
    receiver: BspReceiver | None = None
    bpp_remaining: int = 0
    container_remaining: int = 0
    dp_proprietary_data: bytes | None = None
    metadata_plain: bytearray = field(default_factory=bytearray)
    metadata: _Metadata | None = None
    profile_plain: bytearray = field(default_factory=bytearray)

    # --- the byte stream ------------------------------------------------------------------------
    def feed(self, piece: bytes) -> bool:
        """Consume one LoadBoundProfilePackage piece; True once the whole package is in."""
        offset = 0
        if self.phase is None:
            offset = self._start(piece)
        while offset < len(piece):
            if self.phase == BppPhase.COMPLETE:
                raise InstallError(
                    BppCommandId.loadProfileElements,
                    ErrorReason.scp03tStructureError,
                    "data after the end of the bound profile package",
                )
            offset = self._item(piece, offset)
        return self.phase == BppPhase.COMPLETE

    def _start(self, piece: bytes) -> int:
        command = BppCommandId.initialiseSecureChannel
        try:
            tag, pos = read_tag(piece, 0)
            length, pos = read_length(piece, pos)
            if tag != TAG_BPP:
                raise InstallError(
                    command, ErrorReason.incorrectInputValues, "not a BoundProfilePackage (BF36)"
                )
            isc = read_tlv(piece, pos)
        except TlvError as exc:
            raise InstallError(command, ErrorReason.incorrectInputValues, str(exc)) from None
        if isc.tag != TAG_INITIALISE_SECURE_CHANNEL:
            raise InstallError(command, ErrorReason.incorrectInputValues, "BF36 must start with BF23")
        self.bpp_remaining = length - len(isc.raw)
        if self.bpp_remaining < 0:
            raise InstallError(command, ErrorReason.incorrectInputValues, "BF23 exceeds the BF36 length")
        self._initialise_secure_channel(isc.raw)
        self.phase = BppPhase.CONFIGURE_ISDP
        return isc.end

    def _item(self, piece: bytes, offset: int) -> int:
        command = BPP_COMMAND_ID_OF_PHASE[self.phase] if self.phase else 0
        try:
            tlv = read_tlv(piece, offset) if piece[offset] not in _CONTAINERS else None
            if tlv is None:  # a container: only its header is consumed here
                tag, pos = read_tag(piece, offset)
                length, end = read_length(piece, pos)
            else:
                tag, end, length = tlv.tag, tlv.end, 0
        except TlvError as exc:
            raise InstallError(command, ErrorReason.scp03tStructureError, str(exc)) from None
        segment = _SEGMENT_OF_TAG.get(tag)
        if segment is None:
            raise InstallError(
                command, ErrorReason.scp03tStructureError, f"unexpected tag {tag:X} in the BPP"
            )
        consumed = end - offset
        if consumed > self.bpp_remaining:
            raise InstallError(command, ErrorReason.scp03tStructureError, "segment runs past the BF36 length")
        self.bpp_remaining -= consumed
        self._advance(segment)
        command = BPP_COMMAND_ID_OF_SEGMENT[segment]
        try:
            if segment in (Segment.A1_HEADER, Segment.A3_HEADER):
                self.container_remaining = length
            elif segment == Segment.A0:
                self._configure_isdp(tlv)
            elif segment == Segment.S88:
                self._store_metadata_segment(tlv)
            elif segment == Segment.A2:
                self._replace_session_keys(tlv)
            elif segment == Segment.S86:
                self._profile_segment(tlv)
        except BspMacError as exc:
            raise InstallError(command, ErrorReason.scp03tSecurityError, str(exc)) from None
        except BspStructureError as exc:
            raise InstallError(command, ErrorReason.scp03tStructureError, str(exc)) from None
        self._close_containers()
        return end

    def _advance(self, segment: Segment) -> None:
        assert self.phase is not None
        try:
            self.phase = next_phase(self.phase, segment)
        except OutOfOrderError as exc:
            raise InstallError(
                BPP_COMMAND_ID_OF_PHASE[self.phase], ErrorReason.scp03tStructureError, str(exc)
            ) from None

    def _consume_child(self, tlv: Tlv) -> None:
        if len(tlv.raw) > self.container_remaining:
            raise BspStructureError("segment runs past the length of its sequence")
        self.container_remaining -= len(tlv.raw)

    def _close_containers(self) -> None:
        """A1/A3 whose announced length is used up end their phase (possibly right at the header)."""
        if self.container_remaining:
            return
        if self.phase == BppPhase.METADATA:
            self._advance(Segment.A1_FULL)
            self._metadata_complete()
        elif self.phase == BppPhase.PROFILE:
            self._advance(Segment.A3_FULL)
            if self.bpp_remaining:
                raise InstallError(
                    BppCommandId.loadProfileElements,
                    ErrorReason.scp03tStructureError,
                    "bytes left in BF36 after the profile segments",
                )

    # --- the steps ------------------------------------------------------------------------------
    def _initialise_secure_channel(self, raw: bytes) -> None:
        ctx = self.context
        assert ctx.dppb is not None and ctx.one_time_key is not None
        try:
            self.receiver = open_secure_channel(
                raw,
                transaction_id=ctx.transaction_id,
                dppb_key=public_key(ctx.dppb),
                one_time_key=ctx.one_time_key,
                eid=bytes.fromhex(self.euicc.state.eid),
                strict=self.euicc.state.strict,
            )
        except SecureChannelError as exc:
            raise InstallError(BppCommandId.initialiseSecureChannel, exc.reason, exc.detail) from None

    def _configure_isdp(self, tlv: Tlv) -> None:
        assert self.receiver is not None
        plain = unprotect_sequence(self.receiver, tlv, TAG_ENCRYPTED)
        try:
            rsp().decode("ConfigureISDPRequest", plain)
            inner = read_tlv(plain).value
        except (Asn1Error, TlvError) as exc:
            raise InstallError(
                BppCommandId.configureISDP, ErrorReason.incorrectInputValues, str(exc)
            ) from None
        # kept as received, for ProfileInfo.dpProprietaryData
        self.dp_proprietary_data = next((t.raw for t in iter_tlvs(inner) if t.tag == 0xB8), None)

    def _store_metadata_segment(self, tlv: Tlv) -> None:
        assert self.receiver is not None
        self._consume_child(tlv)
        self.metadata_plain += self.receiver.unprotect(tlv.raw)

    def _metadata_complete(self) -> None:
        command = BppCommandId.storeMetadata
        try:
            value = rsp().decode("StoreMetadataRequest", bytes(self.metadata_plain))
        except Asn1Error as exc:
            raise InstallError(command, ErrorReason.incorrectInputValues, str(exc)) from None
        iccid = iccid_from_bytes(value["iccid"])
        state = self.euicc.state
        if state.profile_by_iccid(iccid) is not None:
            raise InstallError(command, ErrorReason.installFailedDueToIccidAlreadyExistsOnEuicc)
        profile_class = value.get("profileClass", CLASS_OPERATIONAL)
        if profile_class not in CLASS_NAMES:
            raise InstallError(command, ErrorReason.unsupportedProfileClass)
        pprs = decode_bits(value["profilePolicyRules"], PPR_NAMES) if "profilePolicyRules" in value else []
        owner = _operator(value.get("profileOwner"))
        if not ppr_allowed(state, pprs, profile_class, owner):
            raise InstallError(command, ErrorReason.pprNotAllowed)
        self.metadata = _Metadata(iccid, value)

    def _replace_session_keys(self, tlv: Tlv) -> None:
        assert self.receiver is not None
        accept_second_sequence(self.receiver, tlv)

    def _profile_segment(self, tlv: Tlv) -> None:
        assert self.receiver is not None
        self._consume_child(tlv)
        self.profile_plain += self.receiver.unprotect(tlv.raw)

    # --- the result -----------------------------------------------------------------------------
    def build_profile(self) -> Profile:
        """The profile record from the verified metadata and package (raises InstallError)."""
        command = BppCommandId.loadProfileElements
        assert self.metadata is not None
        state = self.euicc.state
        try:
            profile = profile_from_package(bytes(self.profile_plain))
        except ProfileContentError as exc:
            raise InstallError(command, ErrorReason.installFailedDueToPEProcessingError, str(exc)) from None
        if profile.iccid != self.metadata.iccid:
            raise InstallError(
                command,
                ErrorReason.installFailedDueToDataMismatch,
                f"package ICCID {profile.iccid} differs from metadata ICCID {self.metadata.iccid}",
            )
        if profile.size > state.info.nvm_capacity - state.used_memory():
            raise InstallError(command, ErrorReason.installFailedDueToInsufficientMemoryForProfile)
        meta = self.metadata.value
        profile.isdp_aid = isdp_aid(state.next_isdp_index)
        profile.profile_class = meta.get("profileClass", CLASS_OPERATIONAL)
        profile.service_provider_name = meta.get("serviceProviderName", "")
        profile.profile_name = meta.get("profileName", "")
        profile.icon_type = meta.get("iconType")
        profile.icon = meta.get("icon")
        profile.notification_config = [
            NotificationConfig(decode_bits(c["profileManagementOperation"], EVENTS), c["notificationAddress"])
            for c in meta.get("notificationConfigurationInfo", [])
        ]
        profile.profile_owner = _operator(meta.get("profileOwner"))
        profile.ppr = (
            decode_bits(meta["profilePolicyRules"], PPR_NAMES) if "profilePolicyRules" in meta else []
        )
        profile.dp_proprietary_data = self.dp_proprietary_data
        return profile


def _operator(value: dict[str, Any] | None) -> OperatorId | None:
    if value is None:
        return None
    return OperatorId(value["mccMnc"], value.get("gid1"), value.get("gid2"))


def describe_error(error: InstallError) -> str:
    return f"{BppCommandId(error.command).name}: {ErrorReason(error.reason).name}"
