"""Attach: identity, AKA challenge, RES check, resync on sequence failure, PP detection.

`AttachProcedure` is the sans-I/O core: it is fed what the device says (its identity, then its answer
to each challenge) and returns what the network says next (a challenge, accept or reject). At most
one resynchronisation per attach (TS 33.102 6.3.5): a second sequence failure rejects. `Mme.attach`
drives it against a Modem and asks the gateway for the default bearer once the UE is authenticated.

Reject causes carry the EMM cause numbers of TS 24.301 (Annex A) so they read like a real network's.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from openrsp.crypto.aka import AuthenticationVector
from openrsp.hexutil import to_hex
from openrsp.network.contract import Contract
from openrsp.network.detection import ProvisioningDetection
from openrsp.network.device import AuthMacFailure, AuthOk, AuthResponse, AuthSyncFailure, Modem
from openrsp.network.errors import AttachRejected, NetworkError, UnknownSubscriber
from openrsp.network.events import EventLog
from openrsp.network.gateway import Gateway, Session
from openrsp.network.hss import Hss, ResyncFailed

# EMM causes (TS 24.301 9.9.3.9) used here.
CAUSE_IMSI_UNKNOWN = (2, "IMSI unknown in HSS")
CAUSE_ILLEGAL_UE = (3, "illegal UE: authentication failed (RES does not match)")
CAUSE_MAC_FAILURE = (20, "MAC failure: the card did not accept the network (wrong key)")
CAUSE_SYNCH_FAILURE = (21, "synch failure: sequence numbers could not be resynchronised")


class AttachStateError(NetworkError):
    """The procedure was driven out of order (a bug in the driver, not something a device causes)."""


class Phase(Enum):
    IDENTITY = "identity"
    CHALLENGED = "challenged"
    RESYNC_CHALLENGED = "resync-challenged"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# What may follow each phase; anything else is a bug in the caller (a response with no challenge out).
_NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.IDENTITY: frozenset({Phase.CHALLENGED, Phase.REJECTED}),
    Phase.CHALLENGED: frozenset({Phase.RESYNC_CHALLENGED, Phase.ACCEPTED, Phase.REJECTED}),
    Phase.RESYNC_CHALLENGED: frozenset({Phase.ACCEPTED, Phase.REJECTED}),
    Phase.ACCEPTED: frozenset(),
    Phase.REJECTED: frozenset(),
}


@dataclass(frozen=True)
class Challenge:
    rand: bytes
    autn: bytes


@dataclass(frozen=True)
class AttachAccept:
    imsi: str
    contract: Contract
    provisioning_reason: str | None  # why this is a PP attach, None for an operational profile
    resynchronised: bool
    ck: bytes
    ik: bytes

    @property
    def provisioning(self) -> bool:
        return self.provisioning_reason is not None


@dataclass(frozen=True)
class AttachReject:
    cause: int
    text: str
    detail: str = ""


class AttachProcedure:
    """One attach, as a state machine: start(identity) then on_response(...) until accept/reject."""

    def __init__(self, hss: Hss, detection: ProvisioningDetection) -> None:
        self._hss = hss
        self._detection = detection
        self.phase = Phase.IDENTITY
        self.imsi: str | None = None
        self._reported_class: str | None = None
        self._vector: AuthenticationVector | None = None
        self._resynchronised = False

    def start(self, imsi: str, reported_class: str | None = None) -> Challenge | AttachReject:
        if self.phase is not Phase.IDENTITY:
            raise AttachStateError(f"attach: already started (phase {self.phase.value})")
        self.imsi, self._reported_class = imsi, reported_class
        try:
            self._hss.subscriber(imsi)
        except UnknownSubscriber:
            return self._reject(CAUSE_IMSI_UNKNOWN, f"IMSI {imsi}")
        return self._challenge(Phase.CHALLENGED)

    def on_response(self, response: AuthResponse) -> Challenge | AttachAccept | AttachReject:
        if self.phase not in (Phase.CHALLENGED, Phase.RESYNC_CHALLENGED):
            raise AttachStateError(f"attach: no challenge outstanding (phase {self.phase.value})")
        assert self.imsi is not None and self._vector is not None
        vector = self._vector
        if isinstance(response, AuthMacFailure):
            return self._reject(CAUSE_MAC_FAILURE)
        if isinstance(response, AuthSyncFailure):
            if self.phase is Phase.RESYNC_CHALLENGED:
                return self._reject(CAUSE_SYNCH_FAILURE, "the card refused the SQN again after resync")
            try:
                self._hss.resynchronise(self.imsi, vector.rand, response.auts)
            except ResyncFailed as exc:
                return self._reject(CAUSE_SYNCH_FAILURE, str(exc))
            self._resynchronised = True
            return self._challenge(Phase.RESYNC_CHALLENGED)
        assert isinstance(response, AuthOk)
        if not hmac.compare_digest(response.res, vector.xres):
            return self._reject(CAUSE_ILLEGAL_UE)
        self._move(Phase.ACCEPTED)
        subscriber = self._hss.subscriber(self.imsi)
        return AttachAccept(
            imsi=self.imsi,
            contract=subscriber.contract,
            provisioning_reason=self._detection.classify(self.imsi, self._reported_class),
            resynchronised=self._resynchronised,
            ck=response.ck,
            ik=response.ik,
        )

    def _challenge(self, phase: Phase) -> Challenge:
        assert self.imsi is not None
        self._vector = self._hss.authentication_vector(self.imsi)
        self._move(phase)
        return Challenge(self._vector.rand, self._vector.autn)

    def _reject(self, cause: tuple[int, str], detail: str = "") -> AttachReject:
        self._move(Phase.REJECTED)
        return AttachReject(cause[0], cause[1], detail)

    def _move(self, phase: Phase) -> None:
        if phase not in _NEXT[self.phase]:
            raise AttachStateError(f"attach: {self.phase.value} cannot go to {phase.value}")
        self.phase = phase


class Mme:
    """Runs attaches for devices, then asks the gateway for the default bearer."""

    def __init__(
        self,
        hss: Hss,
        gateway: Gateway,
        *,
        detection: ProvisioningDetection | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.hss = hss
        self.gateway = gateway
        self.detection = detection or ProvisioningDetection()
        self.events = events if events is not None else EventLog()

    def attach(self, modem: Modem, *, apn: str | None = None) -> Session:
        """Power the modem on, authenticate it, and create its session (AttachRejected on failure)."""
        identity = modem.power_on()
        log = self.events.record
        log(
            "mme",
            "attach-request",
            imsi=identity.imsi,
            apn=apn or "-",
            reported_class=identity.profile_class or "-",
        )
        procedure = AttachProcedure(self.hss, self.detection)
        step: Challenge | AttachAccept | AttachReject = procedure.start(identity.imsi, identity.profile_class)
        while isinstance(step, Challenge):
            log("mme", "auth-challenge", imsi=identity.imsi, rand=to_hex(step.rand))
            answer = modem.authenticate(step.rand, step.autn)
            if isinstance(answer, AuthSyncFailure):
                log("mme", "auth-sync-failure", imsi=identity.imsi, auts=to_hex(answer.auts))
            step = procedure.on_response(answer)
        if isinstance(step, AttachReject):
            log("mme", "attach-reject", imsi=identity.imsi, cause=f"#{step.cause} {step.text}")
            raise AttachRejected(f"#{step.cause} {step.text}", step.detail)
        log(
            "mme",
            "attach-accept",
            imsi=step.imsi,
            profile="provisioning" if step.provisioning else "operational",
            why=step.provisioning_reason or "not a provisioning profile",
            resynchronised=step.resynchronised,
        )
        return self.gateway.create_session(
            step.imsi, step.contract, provisioning=step.provisioning, requested_apn=apn
        )
