"""The eUICC core: persistent state, keys, the RSP session, and the hooks for time and randomness.

Sans-I/O. Nothing here touches a file or a socket: the state is written through the `persist`
callback (store.py passes one that writes the state file atomically), time comes from `clock`,
randomness from `random_bytes`, one-time keys from `make_one_time_key`. The ES10 functions live in
their own modules and act on an `Euicc`: es10a (configured addresses), es10b_auth (challenge, info,
AuthenticateServer, PrepareDownload, CancelSession), es10b_load (LoadBoundProfilePackage, with
install.py and openrsp.es8), es10b_notifications, es10b_rat, es10c (local profile management);
isd_r.py routes each request to its function by tag.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from openrsp.crypto.ecdsa import PrivateKey, sign_plain
from openrsp.crypto.ecka import generate_one_time_key
from openrsp.errors import OpenRSPError
from openrsp.euicc.session import RspSession
from openrsp.euicc.state import EuiccState, SigningIdentity

if TYPE_CHECKING:
    from cryptography import x509

    from openrsp.euicc.install import BppLoader


def utcnow() -> datetime:
    return datetime.now(UTC)


class EuiccConfigError(OpenRSPError):
    """The eUICC's own configuration is inconsistent (e.g. a signing identity without its key)."""


@dataclass
class SessionContext:
    """What one RSP session has established so far (memory only: a reset forgets it)."""

    transaction_id: bytes = b""
    euicc_challenge: bytes = b""
    server_address: str = ""
    smdp_oid: str = ""  # from CERT.DPauth
    identity: SigningIdentity | None = None  # the eUICC chain the session signs with
    dpauth: x509.Certificate | None = None
    euicc_signature1: bytes = b""
    matching_id: str | None = None
    dppb: x509.Certificate | None = None
    dppb_oid: str | None = None
    one_time_key: PrivateKey | None = None  # otSK.EUICC.ECKA
    hash_cc: bytes | None = None


class KeptKey:
    """Where the eUICC keeps the otSK.EUICC.ECKA of a PrepareDownload whose package has not been
    installed: in memory here; for an eUICC on disk, in a private key file (store.RetryKeyFile)."""

    def __init__(self) -> None:
        self._key: PrivateKey | None = None

    def load(self) -> PrivateKey | None:
        return self._key

    def save(self, key: PrivateKey | None) -> None:
        self._key = key


class Euicc:
    """One eUICC: its persistent state, its private keys and its (single) RSP session."""

    def __init__(
        self,
        state: EuiccState,
        keys: dict[str, PrivateKey],
        *,
        persist: Callable[[EuiccState], None] | None = None,
        reload: Callable[[], EuiccState | None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        random_bytes: Callable[[int], bytes] = os.urandom,
        make_one_time_key: Callable[[str], PrivateKey] | None = None,
        kept_key: KeptKey | None = None,
    ) -> None:
        """`keys` maps each SigningIdentity.key_file to its private key."""
        for identity in state.identities:
            if identity.key_file not in keys:
                raise EuiccConfigError(f"no private key for the eUICC identity in {identity.key_file}")
        self.state = state
        self.keys = keys
        self._persist = persist or (lambda _state: None)
        self._reload = reload or (lambda: None)
        self.clock = clock
        self.random_bytes = random_bytes
        self.make_one_time_key = make_one_time_key or (lambda curve: generate_one_time_key(curve))
        self.session = RspSession()
        self.context = SessionContext()
        self.loader: BppLoader | None = None
        self._kept_key = kept_key or KeptKey()

    # --- the one-time key kept for a retry ------------------------------------------------------
    @property
    def retry_key(self) -> PrivateKey | None:
        """otSK kept after a PrepareDownload whose package was not installed, so that a later
        session's PrepareDownload reuses it when the SM-DP+ offers its otPK back
        (SmdpSigned2.bppEuiccOtpk, SGP.22 §3.1.3); it outlives CancelSession, a reset and, for an
        eUICC on disk, the process, as a card's non-volatile memory would. Dropped once installed."""
        return self._kept_key.load()

    @retry_key.setter
    def retry_key(self, key: PrivateKey | None) -> None:
        self._kept_key.save(key)

    # --- state ----------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[EuiccState]:
        """Change a copy of the state; it replaces the state only once persisted, all or nothing."""
        draft = copy.deepcopy(self.state)
        yield draft
        self._persist(draft)
        self.state = draft

    def sync(self) -> None:
        """Pick up the stored state if another process changed it (called as each command starts)."""
        newer = self._reload()
        if newer is not None:
            self.state = newer

    # --- session --------------------------------------------------------------------------------
    def end_session(self) -> None:
        """Forget the RSP session and any package being loaded (nothing of it was persisted)."""
        self.session.end()
        self.context = SessionContext()
        self.loader = None

    def reset(self) -> None:
        """Power cycle or card reset: volatile memory is gone."""
        self.end_session()

    # --- identities and signing -----------------------------------------------------------------
    def identity_for(self, ci_pkid: bytes) -> SigningIdentity | None:
        return next((i for i in self.state.identities if i.ci_pkid == ci_pkid), None)

    def default_identity(self) -> SigningIdentity:
        if not self.state.identities:
            raise EuiccConfigError("this eUICC has no certificate to sign with")
        return self.state.identities[0]

    def sign(self, identity: SigningIdentity, data: bytes) -> bytes:
        """ECDSA (r||s) with the eUICC key of `identity` (SK.EUICC.ECDSA)."""
        return sign_plain(self.keys[identity.key_file], data)

    def new_challenge(self) -> bytes:
        return self.random_bytes(16)
