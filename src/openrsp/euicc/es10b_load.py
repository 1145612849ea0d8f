"""ES10b LoadBoundProfilePackage (SGP.22 §5.7.6): one call per piece of the bound profile package.

The pieces go to install.BppLoader; this module starts and ends the installation: a signed
ProfileInstallationResult (BF37) for a package installed or refused, stored as a notification.
"""

from __future__ import annotations

import logging

from openrsp.asn1.rsp_types import BppCommandId, ErrorReason
from openrsp.asn1.tlv import TlvError, read_length, read_tag, read_tlv
from openrsp.es8.segments import BppFormatError, parse_initialise_secure_channel
from openrsp.euicc.core import Euicc, SessionContext
from openrsp.euicc.install import BppLoader, InstallError, sima_response_ok, sima_response_refused
from openrsp.euicc.notifications import build_install_result, store_notification
from openrsp.euicc.session import BPP_COMMAND_ID_OF_PHASE, Es10bCall
from openrsp.euicc.state import Profile

log = logging.getLogger(__name__)


def load_bound_profile_package(euicc: Euicc, piece: bytes) -> bytes:
    """One LoadBoundProfilePackage call: b"" while more is expected, else the signed BF37."""
    starting = piece[:2] == bytes.fromhex("BF36")
    if starting:
        if not euicc.session.allows(Es10bCall.LOAD_BPP_START):
            return _orphan_result(euicc, piece)
        euicc.session.succeed(Es10bCall.LOAD_BPP_START)
        euicc.loader = BppLoader(euicc, euicc.context)
    loader = euicc.loader
    assert loader is not None
    try:
        complete = loader.feed(piece)
        if not complete:
            return b""
        profile = loader.build_profile()
    except InstallError as exc:
        return _finish_failed(euicc, loader, exc)
    except Exception:
        # A card answers every piece; an unforeseen failure still ends the download cleanly.
        log.exception("installation failed unexpectedly")
        command = BPP_COMMAND_ID_OF_PHASE.get(loader.phase, 0) if loader.phase else 0
        error = InstallError(command, ErrorReason.installFailedDueToUnknownError)
        return _finish_failed(euicc, loader, error)
    return _finish_installed(euicc, loader, profile)


def _finish_installed(euicc: Euicc, loader: BppLoader, profile: Profile) -> bytes:
    ctx = loader.context
    with euicc.transaction() as state:
        result = build_install_result(
            euicc, state, ctx, iccid=profile.iccid, success=(profile.isdp_aid, sima_response_ok())
        )
        state.profiles.append(profile)
        state.next_isdp_index += 1
        store_notification(state, result)
    euicc.retry_key = None  # the package is in: its otSK must not serve again
    euicc.end_session()
    return result.pending


def _finish_failed(euicc: Euicc, loader: BppLoader, error: InstallError) -> bytes:
    ctx = loader.context
    iccid = loader.metadata.iccid if loader.metadata else None
    with euicc.transaction() as state:
        result = build_install_result(
            euicc,
            state,
            ctx,
            iccid=iccid,
            error=(error.command, error.reason),
            error_sima_response=sima_response_refused(error.detail),
        )
        store_notification(state, result)
    euicc.end_session()
    return result.pending


def _orphan_result(euicc: Euicc, piece: bytes) -> bytes:
    """A BF36 outside a prepared session: an error result for its transaction, nothing stored."""
    transaction_id = b"\x00"
    try:
        tag, pos = read_tag(piece, 0)
        _length, pos = read_length(piece, pos)
        transaction_id = parse_initialise_secure_channel(read_tlv(piece, pos).raw).transaction_id
    except (TlvError, BppFormatError):
        pass
    ctx = SessionContext(transaction_id=transaction_id, identity=euicc.default_identity())
    result = build_install_result(
        euicc,
        euicc.state,
        ctx,
        iccid=None,
        error=(BppCommandId.initialiseSecureChannel, ErrorReason.invalidTransactionId),
        seq_number=0,
    )
    return result.pending
