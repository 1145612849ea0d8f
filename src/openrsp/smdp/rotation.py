"""Rotating the sealing key: every sealed blob opened under the old key and sealed under the new one,
in one database transaction (all or nothing), then the new key put where the old one was.

Sealed at rest: profile_packages.package, profiles.secrets (Ki/OPc) and the binding secrets of ES9+
sessions. transactionIds are MACed under a key derived from the sealing key, so downloads under
way when the SM-DP+ restarts with the new key start again (their sessions are unknown to it).
Run it with the SM-DP+ stopped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select, update

from openrsp.private_files import create_private_file, ensure_private_dir
from openrsp.rspserver.sealing import KEK_LEN, Sealer
from openrsp.smdp.config import SmdpConfig
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.engine import make_engine, migrate
from openrsp.smdp.db.models import Profile, ProfilePackage, RspSession
from openrsp.smdp.errors import ConfigError

_BATCH = 500
_profiles = Profile.__table__
_packages = ProfilePackage.__table__
_sessions = RspSession.__table__
_SEALED = (
    select(_profiles.c.id, _profiles.c.iccid, _profiles.c.secrets, _packages.c.package)
    .select_from(_profiles.join(_packages, _packages.c.iccid == _profiles.c.iccid))
    .where(_profiles.c.id.in_(bindparam("ids", expanding=True)))
    .with_for_update(of=_profiles)
)
_SET_SECRETS = (
    update(_profiles).where(_profiles.c.id == bindparam("profile_id")).values(secrets=bindparam("sealed"))
)
_SET_PACKAGE = (
    update(_packages).where(_packages.c.iccid == bindparam("key")).values(package=bindparam("sealed"))
)
_SESSIONS = select(_sessions.c.transaction_id, _sessions.c.iccid, _sessions.c.data).with_for_update(
    of=_sessions
)
_SET_SESSION_DATA = (
    update(_sessions).where(_sessions.c.transaction_id == bindparam("tid")).values(data=bindparam("new_data"))
)


@dataclass(frozen=True)
class RotationReport:
    profiles: int
    sessions: int
    new_key: str  # where the new key is now (a file path or a token label)


def reseal(database: SmdpDatabase, old: Sealer, new: Sealer) -> tuple[int, int]:
    """Re-seal every blob in one transaction; (profiles, sessions) re-sealed. Any blob that does
    not open under `old` aborts the lot (SealError) and nothing changes."""
    profiles = sessions = 0
    with database.transaction() as connection:
        ids = list(connection.execute(select(_profiles.c.id).order_by(_profiles.c.id)).scalars())
        for start in range(0, len(ids), _BATCH):
            rows = connection.execute(_SEALED, {"ids": ids[start : start + _BATCH]}).all()
            secrets, packages = [], []
            for row in rows:
                label = f"secrets/{row.iccid}"
                secrets.append(
                    {"profile_id": row.id, "sealed": new.seal(old.open(row.secrets, label), label)}
                )
                label = f"package/{row.iccid}"
                packages.append({"key": row.iccid, "sealed": new.seal(old.open(row.package, label), label)})
            if rows:
                connection.execute(_SET_SECRETS, secrets)
                connection.execute(_SET_PACKAGE, packages)
            profiles += len(rows)
        for row in connection.execute(_SESSIONS).all():
            binding = (row.data or {}).get("binding")
            if not binding or not row.iccid:
                continue
            label = f"es9-binding/{row.iccid}"
            secret = new.seal(old.open(bytes.fromhex(binding["secret"]), label), label)
            data = {**row.data, "binding": {**binding, "secret": secret.hex().upper()}}
            connection.execute(_SET_SESSION_DATA, {"tid": row.transaction_id, "new_data": data})
            sessions += 1
    return profiles, sessions


def rotate_seal(config: SmdpConfig, to_uri: str | None = None) -> RotationReport:
    """Re-seal under a new key: a new AES key in the token of `to_uri` (moving sealing into a token)
    or of the configured one, else a new kek file."""
    if config.kek_hex and not (to_uri or config.keys_uri):
        raise ConfigError("the KEK is given inline (kek_hex): move it to a kek_file or a token to rotate it")
    old = Sealer(config.seal_key())
    engine = make_engine(config.db_url)
    try:
        migrate(engine)
        database = SmdpDatabase(engine, old)
        target = to_uri or config.keys_uri
        if target:
            return _rotate_into_token(database, old, target)
        return _rotate_file(database, old, config.kek_file or config.data_dir / "kek.key")
    finally:
        engine.dispose()


def _rotate_into_token(database: SmdpDatabase, old: Sealer, uri: str) -> RotationReport:
    from openrsp.smdp.keystore import SEAL, SEAL_NEXT, open_keystore

    store = open_keystore(uri)
    current, pending = store.label(SEAL), store.label(SEAL_NEXT)
    store.token.destroy(pending)  # a rotation that stopped before its commit left it unused
    new_key = store.token.generate_aes_key(pending)
    profiles, sessions = reseal(database, old, Sealer(new_key))
    # committed: the data is sealed under the new key only; put it where the old one was
    store.token.destroy(current)
    store.token.relabel(pending, current)
    return RotationReport(profiles, sessions, f"{store.token.label}:{current}")


def _rotate_file(database: SmdpDatabase, old: Sealer, path: Path) -> RotationReport:
    pending = path.with_name(path.name + ".next")
    pending.unlink(missing_ok=True)
    ensure_private_dir(path.parent)
    kek = os.urandom(KEK_LEN)
    create_private_file(pending, (kek.hex().upper() + "\n").encode())
    profiles, sessions = reseal(database, old, Sealer(kek))
    os.replace(pending, path)  # committed: the old key is no longer needed
    return RotationReport(profiles, sessions, str(path))
