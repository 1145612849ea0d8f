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


def test_the_fewer_indexes_migration_keeps_the_rows_and_the_lookups_use_the_indexes_left(db_url):
    """At package_table with a notification and a session stored: upgraded, both rows are still
    there and the two EID-only indexes are gone; the lookups that remain use the indexes that are
    left (SQLite's plan names them); downgraded, the indexes are back."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import inspect, text

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    now = datetime(2026, 1, 2, tzinfo=UTC).replace(tzinfo=None)

    def run(target: str, down: bool = False) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, target)

    def indexes(table: str) -> set[str]:
        return {index["name"] for index in inspect(engine).get_indexes(table)}

    try:
        if schema_revision(engine) is None:
            run("package_table")
        else:  # this module's PostgreSQL database, already at the head
            run("package_table", down=True)
        assert "ix_notifications_eid" in indexes("notifications")
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM notifications"))
            connection.execute(text("DELETE FROM rsp_sessions"))
            connection.execute(
                text(
                    "INSERT INTO notifications (seq, eid, event, raw, received_at)"
                    " VALUES (7, 'E1', 'install', :raw, :now)"
                ),
                {"raw": b"\x30\x00", "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO rsp_sessions (transaction_id, eid, state, data, created_at, updated_at)"
                    " VALUES ('T1', 'E1', 'authenticated', '{}', :now, :now)"
                ),
                {"now": now},
            )
        migrate(engine)
        assert schema_revision(engine) == HEAD_REVISION
        assert "ix_notifications_eid" not in indexes("notifications")
        assert "ix_rsp_sessions_eid" not in indexes("rsp_sessions")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT seq FROM notifications WHERE eid = 'E1'")).all() == [(7,)]
            assert connection.execute(text("SELECT eid FROM rsp_sessions")).all() == [("E1",)]
            if engine.dialect.name == "sqlite":
                plan = " ".join(
                    str(row[-1])
                    for row in connection.execute(
                        text("EXPLAIN QUERY PLAN SELECT id FROM notifications WHERE eid = 'E1' AND seq = 7")
                    )
                )
                assert "ux_notifications_eid_seq" in plan
                plan = " ".join(
                    str(row[-1])
                    for row in connection.execute(
                        text(
                            "EXPLAIN QUERY PLAN SELECT transaction_id FROM rsp_sessions"
                            " WHERE iccid = 'I' AND eid = 'E1' AND state = 'bound'"
                        )
                    )
                )
                assert "ix_rsp_sessions_iccid" in plan
        run("package_table", down=True)
        assert "ix_notifications_eid" in indexes("notifications")
        assert "ix_rsp_sessions_eid" in indexes("rsp_sessions")
    finally:
        migrate(engine)  # the head again, for the module's next tests
        engine.dispose()
