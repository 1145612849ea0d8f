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


def test_migrations_build_exactly_the_models_schema(repo):
    engine = repo.engine
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
