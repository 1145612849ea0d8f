"""HSS/AuC: subscriptions by IMSI, Milenage authentication vectors, SQN per subscriber, resync.

The operator side provisions a subscriber (`provision`) when it generates or imports a profile:
IMSI, Ki, OPc, AMF and the contract. The serving network asks for one vector per authentication
(`authentication_vector`), which advances the subscriber's SQN in the same transaction, and hands
back AUTS after a sequence failure (`resynchronise`), which moves the SQN to the card's.

Storage is one SQLite file (each change one transaction: atomic). Ki and OPc are sealed with
AES-256-GCM under a storage key kept next to the database (mode 0600) or passed in; they never appear
in a repr, a log line or an event. SQN is SEQ only (TS 33.102 Annex C.1 without IND): each vector
takes the next value, and a card accepts anything above what it last accepted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openrsp.crypto.aka import SQN_MAX, AuthenticationVector, generate_vector, recover_sqn_ms
from openrsp.crypto.errors import AkaMacError
from openrsp.crypto.milenage import AMF_SIZE, KEY_SIZE, RAND_SIZE
from openrsp.errors import InputError
from openrsp.network.contract import Contract
from openrsp.network.errors import HssStorageError, NetworkError, UnknownSubscriber
from openrsp.profile.subscription import Subscription

# AMF with the "separation bit" set, as E-UTRAN requires (TS 33.401 6.1.1).
DEFAULT_AMF = bytes.fromhex("8000")
STORAGE_KEY_SIZE = 32
_NONCE_SIZE = 12

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    imsi TEXT PRIMARY KEY,
    ki BLOB NOT NULL,
    opc BLOB NOT NULL,
    amf BLOB NOT NULL,
    sqn INTEGER NOT NULL,
    contract TEXT NOT NULL
)
"""


class ResyncFailed(NetworkError):
    """AUTS did not verify (MAC-S wrong): the card is not the one the subscription belongs to."""


@dataclass(frozen=True)
class Subscriber:
    """One subscription as the HSS keeps it. Keys are excluded from repr so they never get logged."""

    imsi: str
    ki: bytes = field(repr=False)
    opc: bytes = field(repr=False)
    amf: bytes
    sqn: int  # SQN_HE: the last sequence number handed out
    contract: Contract


def _check_imsi(imsi: str) -> str:
    if not (isinstance(imsi, str) and imsi.isascii() and imsi.isdigit() and 6 <= len(imsi) <= 15):
        raise InputError(f"IMSI must be 6-15 digits, got {imsi!r}")
    return imsi


def _check_size(value: bytes, size: int, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise InputError(f"{name} must be {size} bytes")
    return value


def load_or_create_storage_key(path: Path, random_bytes: Callable[[int], bytes] = os.urandom) -> bytes:
    """The HSS storage key in `path` (raw 32 bytes, 0600), created on first use."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = random_bytes(STORAGE_KEY_SIZE)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
    if len(key) != STORAGE_KEY_SIZE:
        raise HssStorageError(f"{path}: the HSS storage key must be {STORAGE_KEY_SIZE} bytes")
    return key


class Hss:
    """The home subscriber server with its authentication centre, over one SQLite file."""

    def __init__(
        self,
        database: Path | str,
        *,
        storage_key: bytes | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """`database` is a file path (":memory:" for a throw-away HSS). Without `storage_key` the key
        lives in `<database>.key`, created on first use."""
        self._random = random_bytes
        in_memory = str(database) == ":memory:"
        if storage_key is None:
            if in_memory:
                storage_key = random_bytes(STORAGE_KEY_SIZE)
            else:
                storage_key = load_or_create_storage_key(Path(f"{database}.key"), random_bytes)
        if len(storage_key) != STORAGE_KEY_SIZE:
            raise InputError(f"HSS storage key must be {STORAGE_KEY_SIZE} bytes")
        self._aead = AESGCM(storage_key)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(database), isolation_level=None, check_same_thread=False)
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise HssStorageError(f"cannot open the HSS database {database}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Hss:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- provisioning (the operator side) ------------------------------------------------------
    def provision(
        self,
        imsi: str,
        ki: bytes,
        opc: bytes,
        contract: Contract,
        *,
        amf: bytes = DEFAULT_AMF,
        sqn: int = 0,
    ) -> Subscriber:
        """Add or replace a subscription. `sqn` is where the sequence starts (0 for a new card)."""
        _check_imsi(imsi)
        _check_size(ki, KEY_SIZE, "Ki")
        _check_size(opc, KEY_SIZE, "OPc")
        _check_size(amf, AMF_SIZE, "AMF")
        if not 0 <= sqn <= SQN_MAX:
            raise InputError(f"SQN must be between 0 and {SQN_MAX}")
        row = (
            imsi,
            self._seal(ki, imsi, "ki"),
            self._seal(opc, imsi, "opc"),
            amf,
            sqn,
            json.dumps(contract.to_json()),
        )
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO subscribers VALUES (?, ?, ?, ?, ?, ?)", row)
        return Subscriber(imsi, ki, opc, amf, sqn, contract)

    def provision_subscription(self, sub: Subscription, contract: Contract, *, sqn: int = 0) -> Subscriber:
        """Provision from the operator's subscription model, as when a profile is generated or imported."""
        if sub.algorithm != "milenage":
            raise InputError(f"IMSI {sub.imsi}: the HSS runs Milenage, not {sub.algorithm}")
        return self.provision(sub.imsi, sub.ki, sub.opc, contract, sqn=sqn)

    def set_contract(self, imsi: str, contract: Contract) -> None:
        with self._transaction() as db:
            self._row(db, imsi)
            db.execute(
                "UPDATE subscribers SET contract = ? WHERE imsi = ?", (json.dumps(contract.to_json()), imsi)
            )

    def remove(self, imsi: str) -> None:
        with self._transaction() as db:
            self._row(db, imsi)
            db.execute("DELETE FROM subscribers WHERE imsi = ?", (imsi,))

    # --- queries -------------------------------------------------------------------------------
    def subscriber(self, imsi: str) -> Subscriber:
        with self._transaction() as db:
            return self._row(db, imsi)

    def has(self, imsi: str) -> bool:
        with self._transaction() as db:
            return db.execute("SELECT 1 FROM subscribers WHERE imsi = ?", (imsi,)).fetchone() is not None

    def imsis(self) -> list[str]:
        with self._transaction() as db:
            return [r[0] for r in db.execute("SELECT imsi FROM subscribers ORDER BY imsi")]

    # --- AuC -----------------------------------------------------------------------------------
    def authentication_vector(self, imsi: str, *, rand: bytes | None = None) -> AuthenticationVector:
        """A fresh vector for `imsi`, with the next SQN (stored before the vector leaves the HSS)."""
        rand = _check_size(rand, RAND_SIZE, "RAND") if rand is not None else self._random(RAND_SIZE)
        with self._transaction() as db:
            sub = self._row(db, imsi)
            sqn = sub.sqn + 1
            if sqn > SQN_MAX:
                raise NetworkError(f"IMSI {imsi}: SQN space exhausted")
            db.execute("UPDATE subscribers SET sqn = ? WHERE imsi = ?", (sqn, imsi))
        return generate_vector(sub.ki, sub.opc, rand, sqn, sub.amf)

    def resynchronise(self, imsi: str, rand: bytes, auts: bytes) -> int:
        """Check AUTS (from the card's answer to the challenge with `rand`); move SQN_HE to SQN_MS."""
        with self._transaction() as db:
            sub = self._row(db, imsi)
            try:
                sqn_ms = recover_sqn_ms(sub.ki, sub.opc, rand, auts)
            except AkaMacError:
                raise ResyncFailed(f"IMSI {imsi}: AUTS does not verify (MAC-S wrong)") from None
            db.execute("UPDATE subscribers SET sqn = ? WHERE imsi = ?", (sqn_ms, imsi))
        return sqn_ms

    # --- storage -------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise HssStorageError(f"HSS database: {exc}") from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _row(self, db: sqlite3.Connection, imsi: str) -> Subscriber:
        found = db.execute(
            "SELECT ki, opc, amf, sqn, contract FROM subscribers WHERE imsi = ?", (_check_imsi(imsi),)
        ).fetchone()
        if found is None:
            raise UnknownSubscriber(f"IMSI {imsi} is not provisioned in the HSS")
        ki, opc, amf, sqn, contract = found
        return Subscriber(
            imsi,
            self._open(ki, imsi, "ki"),
            self._open(opc, imsi, "opc"),
            bytes(amf),
            sqn,
            Contract.from_json(json.loads(contract)),
        )

    def _seal(self, value: bytes, imsi: str, name: str) -> bytes:
        nonce = self._random(_NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, value, f"openrsp-hss/{imsi}/{name}".encode())

    def _open(self, blob: bytes, imsi: str, name: str) -> bytes:
        try:
            return self._aead.decrypt(
                blob[:_NONCE_SIZE], blob[_NONCE_SIZE:], f"openrsp-hss/{imsi}/{name}".encode()
            )
        except (InvalidTag, ValueError):
            raise HssStorageError(f"IMSI {imsi}: stored {name} does not open with this storage key") from None
