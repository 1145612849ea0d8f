"""The schema comes from the Alembic migrations, and matches the models, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from openrsp.smdp.db.engine import HEAD_REVISION, MIGRATIONS_DIR, make_engine, migrate, schema_revision
from openrsp.smdp.db.models import Base


def test_the_shortcut_revision_is_alembics_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_build_exactly_the_models_schema(database):
    engine = database.engine
    assert schema_revision(engine) == HEAD_REVISION
    migrate(engine)  # a second start-up changes nothing
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_empty_database_is_migrated_on_first_use(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        assert schema_revision(engine) is None
        migrate(engine)
        assert schema_revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()


def test_the_package_table_migration_keeps_every_package_and_goes_back(db_url):
    """A database at notification_once that holds profiles: upgraded, each sealed package is in
    profile_packages, byte for byte, and the profile rows no longer carry it; downgraded, back."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import inspect, text

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    packages = {f"89000000000000000{n:02d}": bytes([n]) * (13_000 + n) for n in range(3)}
    now = datetime(2026, 1, 2, tzinfo=UTC).replace(tzinfo=None)

    def run(target: str, down: bool = False) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, target)

    try:
        if schema_revision(engine) is None:
            run("notification_once")
        else:  # this module's PostgreSQL database, already at the head
            run("notification_once", down=True)
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO operators (name, created_at) VALUES ('op', :now)"), {"now": now}
            )
            for iccid, package in packages.items():
                connection.execute(
                    text(
                        "INSERT INTO profiles (iccid, operator_id, profile_type, state, package, secrets,"
                        " profile_class, extra, created_at, updated_at) VALUES (:iccid,"
                        " (SELECT id FROM operators), 'default', 'Available', :package, :secrets,"
                        " 'operational', '{}', :now, :now)"
                    ),
                    {"iccid": iccid, "package": package, "secrets": b"s", "now": now},
                )
        migrate(engine)
        assert schema_revision(engine) == HEAD_REVISION
        assert "package" not in {c["name"] for c in inspect(engine).get_columns("profiles")}
        with engine.connect() as connection:
            moved = dict(connection.execute(text("SELECT iccid, package FROM profile_packages")).all())
        assert {iccid: bytes(package) for iccid, package in moved.items()} == packages

        run("notification_once", down=True)
        with engine.connect() as connection:
            back = dict(connection.execute(text("SELECT iccid, package FROM profiles")).all())
        assert {iccid: bytes(package) for iccid, package in back.items()} == packages
        assert "profile_packages" not in inspect(engine).get_table_names()
    finally:
        migrate(engine)  # the head again, for the module's next tests
        engine.dispose()
