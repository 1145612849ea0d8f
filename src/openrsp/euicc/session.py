"""The eUICC's RSP session: which ES10b call may come next, and which BPP segment.

Everything that moves the session lives here, as two tables (the h11 way):

- SESSION: (state, ES10b function) -> (state after success, state after failure). A function that
  has no row for the current state is refused as out of order, whatever the caller believes.
- BPP: (loading phase, segment kind) -> next phase, for the LoadBoundProfilePackage calls inside
  one download (SGP.22 §2.5.5: BF36+BF23, A0, A1 header, 88s, optional A2, A3 header, 86s).

The tables know nothing of cryptography or storage: isd_r.py and install.py ask them before acting.
"""

from __future__ import annotations

from enum import StrEnum

from openrsp.errors import OpenRSPError


class SessionState(StrEnum):
    IDLE = "idle"  # no RSP session
    CHALLENGED = "challenged"  # euiccChallenge issued, AuthenticateServer awaited
    AUTHENTICATED = "authenticated"  # server authenticated; PrepareDownload awaited
    PREPARED = "prepared"  # one-time key issued; the BPP awaited
    LOADING = "loading"  # BPP segments arriving


class Es10bCall(StrEnum):
    GET_CHALLENGE = "GetEUICCChallenge"
    AUTHENTICATE_SERVER = "AuthenticateServer"
    PREPARE_DOWNLOAD = "PrepareDownload"
    LOAD_BPP_START = "LoadBoundProfilePackage(BF36)"  # first segment: BF36 header + BF23
    LOAD_BPP_SEGMENT = "LoadBoundProfilePackage"  # any later segment
    CANCEL_SESSION = "CancelSession"


S = SessionState
C = Es10bCall

# (state, call) -> (after success, after failure). A new GetEUICCChallenge abandons whatever session
# was open (a fresh download starts over); the others must come in order.
SESSION: dict[tuple[SessionState, Es10bCall], tuple[SessionState, SessionState]] = {
    **{(state, C.GET_CHALLENGE): (S.CHALLENGED, state) for state in SessionState},
    (S.CHALLENGED, C.AUTHENTICATE_SERVER): (S.AUTHENTICATED, S.IDLE),
    # A refused PrepareDownload keeps the session so the LPA can cancel it with a signed answer.
    (S.AUTHENTICATED, C.PREPARE_DOWNLOAD): (S.PREPARED, S.AUTHENTICATED),
    (S.PREPARED, C.LOAD_BPP_START): (S.LOADING, S.IDLE),
    # A segment that completes the package ends the session too; the caller says so with finish().
    (S.LOADING, C.LOAD_BPP_SEGMENT): (S.LOADING, S.IDLE),
    (S.AUTHENTICATED, C.CANCEL_SESSION): (S.IDLE, S.AUTHENTICATED),
    (S.PREPARED, C.CANCEL_SESSION): (S.IDLE, S.PREPARED),
    (S.LOADING, C.CANCEL_SESSION): (S.IDLE, S.LOADING),
}


class BppPhase(StrEnum):
    CONFIGURE_ISDP = "configureISDP"  # expecting the whole A0
    METADATA_HEADER = "metadataHeader"  # expecting the A1 tag and length
    METADATA = "storeMetadata"  # expecting 88 TLVs until A1's length is used up
    AFTER_METADATA = "afterMetadata"  # expecting the whole A2 or the A3 header
    PROFILE_HEADER = "profileHeader"  # (after A2) expecting the A3 header
    PROFILE = "loadProfileElements"  # expecting 86 TLVs until A3's length is used up
    COMPLETE = "complete"


class Segment(StrEnum):
    A0 = "A0"
    A1_HEADER = "A1 header"
    S88 = "88"
    A1_FULL = "end of A1"  # not a segment: the 88s have filled A1's announced length
    A2 = "A2"
    A3_HEADER = "A3 header"
    S86 = "86"
    A3_FULL = "end of A3"  # the 86s have filled A3's announced length


P = BppPhase
BPP: dict[tuple[BppPhase, Segment], BppPhase] = {
    (P.CONFIGURE_ISDP, Segment.A0): P.METADATA_HEADER,
    (P.METADATA_HEADER, Segment.A1_HEADER): P.METADATA,
    (P.METADATA, Segment.S88): P.METADATA,
    (P.METADATA, Segment.A1_FULL): P.AFTER_METADATA,
    (P.AFTER_METADATA, Segment.A2): P.PROFILE_HEADER,
    (P.AFTER_METADATA, Segment.A3_HEADER): P.PROFILE,
    (P.PROFILE_HEADER, Segment.A3_HEADER): P.PROFILE,
    (P.PROFILE, Segment.S86): P.PROFILE,
    (P.PROFILE, Segment.A3_FULL): P.COMPLETE,
}

# Which bppCommandId (SGP.22 BppCommandId) a failure while handling a segment reports, and which
# one a segment that was not expected reports, by the phase it arrived in.
BPP_COMMAND_ID_OF_SEGMENT: dict[Segment, int] = {
    Segment.A0: 1,
    Segment.A1_HEADER: 2,
    Segment.S88: 2,
    Segment.A1_FULL: 2,
    Segment.A2: 4,
    Segment.A3_HEADER: 5,
    Segment.S86: 5,
    Segment.A3_FULL: 5,
}
BPP_COMMAND_ID_OF_PHASE: dict[BppPhase, int] = {
    P.CONFIGURE_ISDP: 1,
    P.METADATA_HEADER: 2,
    P.METADATA: 2,
    P.AFTER_METADATA: 4,
    P.PROFILE_HEADER: 5,
    P.PROFILE: 5,
    P.COMPLETE: 5,
}


class OutOfOrderError(OpenRSPError):
    """An ES10b function or a BPP segment that the session does not allow now."""


class RspSession:
    """The state of the (single) RSP session of one eUICC, moved only through the SESSION table."""

    def __init__(self) -> None:
        self.state = SessionState.IDLE

    def allows(self, call: Es10bCall) -> bool:
        return (self.state, call) in SESSION

    def check(self, call: Es10bCall) -> None:
        if not self.allows(call):
            raise OutOfOrderError(f"{call.value} is not allowed in session state {self.state.value}")

    def succeed(self, call: Es10bCall) -> SessionState:
        self.check(call)
        self.state = SESSION[(self.state, call)][0]
        return self.state

    def fail(self, call: Es10bCall) -> SessionState:
        self.check(call)
        self.state = SESSION[(self.state, call)][1]
        return self.state

    def end(self) -> None:
        """The download finished (installed, or failed with a result): no session any more."""
        self.state = SessionState.IDLE


def next_phase(phase: BppPhase, segment: Segment) -> BppPhase:
    try:
        return BPP[(phase, segment)]
    except KeyError:
        raise OutOfOrderError(f"BPP segment {segment.value} not expected in phase {phase.value}") from None
