"""SM-DP+ storage: SQLAlchemy models, engine set-up, Alembic migrations."""
