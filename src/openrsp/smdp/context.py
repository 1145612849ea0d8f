"""What every SM-DP+ request handler gets: storage, keys, address, clock, randomness, outbox.

One SmdpContext per worker process, built from the resolved configuration. Workers keep no
state of their own: everything that must outlive a request is in the database.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from openrsp.private_files import ensure_private_dir
from openrsp.rspserver.ids import utcnow
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp.config import SmdpConfig
from openrsp.smdp.db import operators
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.engine import make_engine, migrate
from openrsp.smdp.db.models import Profile
from openrsp.smdp.errors import ConfigError
from openrsp.smdp.es2.progress import ProgressDeliverer
from openrsp.smdp.es2.service import OrderDefaults
from openrsp.smdp.es9.store import Es9Store
from openrsp.smdp.es9.views import Es9Storage
from openrsp.smdp.outbox import Deliverer, Deliverers, Outbox
from openrsp.smdp.smds_events import SmdsDeliverer, SmdsRegistrar
from openrsp.smdp.tlsfiles import load_credentials, resolve_address

SMDS_TIMEOUT = 5.0  # seconds an ES12 call may take (ConfirmOrder waits for it)


@dataclass
class SmdpContext:
    config: SmdpConfig
    database: SmdpDatabase  # engine, sealer, clock; `database.transaction()` opens one transaction
    sealer: Sealer  # the KEK: packages and Ki/OPc are sealed under it
    address: str  # this SM-DP+'s address (FQDN[:port]), as in activation codes
    credentials: Any | None  # openrsp.pki.credentials.SmdpCredentials, when the folder loads
    clock: Callable[[], datetime] = utcnow
    rng: Callable[[int], bytes] = os.urandom
    # calls to other servers that must not be lost: progress reports, SM-DS events (with TLS credentials)
    outbox: Outbox | None = None
    smds_deliverer: Deliverer | None = None
    es9_storage: Es9Storage | None = None  # another storage for the ES9+ core (default: the database's)

    @property
    def smds(self) -> SmdsRegistrar | None:
        """ConfirmOrder's way to an SM-DS: queue the event and try it at once."""
        return SmdsRegistrar(self.smds_deliverer) if self.smds_deliverer is not None else None

    @functools.cached_property
    def es9_store(self) -> Es9Storage:
        """ES9+'s storage: `es9_storage` when one is given, else SQLAlchemy Core over `database`."""
        return self.es9_storage if self.es9_storage is not None else Es9Store(self.database)

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(seconds=self.config.session_ttl_seconds)

    @property
    def order_defaults(self) -> OrderDefaults:
        return OrderDefaults.from_config(self.config)

    def close(self) -> None:
        self.database.engine.dispose()


def open_database(
    config: SmdpConfig,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> SmdpDatabase:
    """Engine + schema upgrade + sealer: what the CLI needs to work on the SM-DP+'s data."""
    ensure_private_dir(config.data_dir)
    engine = make_engine(config.db_url)
    migrate(engine)
    _refuse_a_new_kek_for_sealed_data(config, engine)
    sealer = Sealer(config.seal_key())
    database = SmdpDatabase(engine, sealer, clock)
    with database.transaction() as connection:
        for op in config.operators:
            operators.ensure_operator(
                connection, op.name, clock(), cert_cn=op.cert_cn or "", callback_url=op.callback_url or ""
            )
    return database


def _refuse_a_new_kek_for_sealed_data(config: SmdpConfig, engine: Any) -> None:
    """A missing sealing key is made on first use, but not for a database that already holds sealed
    profiles: they were sealed under another key (a token's, when [keys] / --keys was forgotten; a
    file's, when the token is not the one they were moved to)."""
    if config.keys_uri:
        from openrsp.smdp.keystore import SEAL, open_keystore

        store = open_keystore(config.keys_uri)
        if store.token.aes_key(store.label(SEAL)) is not None:
            return
        where = f"token {store.token.label!r} has no {store.label(SEAL)!r}"
    else:
        if config.kek_hex or config.kek_file or (config.data_dir / "kek.key").exists():
            return
        where = f"no {config.data_dir / 'kek.key'}"
    with engine.connect() as connection:
        if connection.execute(select(Profile.id).limit(1)).first() is not None:
            raise ConfigError(
                f"{config.db_url}: its profiles are sealed under a key that is not here ({where}): "
                "give the --keys URI (or [keys] in --config) they were sealed under, or restore the key file"
            )


def smds_outbox(
    database: SmdpDatabase, credentials: Any | None, clock: Callable[[], datetime] = utcnow
) -> Outbox | None:
    """The outbox with its ES12 deliverer (the SM-DP+'s TLS certificate is its client certificate)."""
    deliverer = SmdsDeliverer.from_credentials(credentials, timeout=SMDS_TIMEOUT) if credentials else None
    return Outbox(database.engine, deliverer, clock) if deliverer is not None else None


def build_context(
    config: SmdpConfig,
    *,
    clock: Callable[[], datetime] = utcnow,
    rng: Callable[[int], bytes] = os.urandom,
) -> SmdpContext:
    database = open_database(config, clock=clock)
    credentials = load_credentials(config.credentials_dir, config.keys_uri)
    address = resolve_address(config, credentials)
    smds = SmdsDeliverer.from_credentials(credentials, timeout=SMDS_TIMEOUT) if credentials else None
    verify: bool | Path = config.callback_ca if config.callback_ca else True
    deliverers: dict[str, Deliverer] = {"es2.": ProgressDeliverer(verify=verify)}
    if smds is not None:
        deliverers["smds."] = smds
    return SmdpContext(
        outbox=Outbox(database.engine, Deliverers(deliverers), clock),
        smds_deliverer=smds,
        config=config,
        database=database,
        sealer=database.sealer,
        address=address,
        credentials=credentials,
        clock=clock,
        rng=rng,
    )
