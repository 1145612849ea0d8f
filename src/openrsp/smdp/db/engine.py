"""The SM-DP+ schema migration run at start-up (the engines themselves: openrsp.rspserver.database)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from openrsp.rspserver.database import make_engine, normalize_url, sqlite_url

__all__ = ["HEAD_REVISION", "make_engine", "migrate", "normalize_url", "schema_revision", "sqlite_url"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_KEY = 0x6F72_7370  # "orsp": one advisory lock id for schema upgrades on PostgreSQL
# The newest migration. Checked against Alembic by the tests; lets a start-up on an up-to-date
# schema skip importing Alembic at all (it costs a third of a second per command).
HEAD_REVISION = "fewer_indexes"


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    if schema_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
