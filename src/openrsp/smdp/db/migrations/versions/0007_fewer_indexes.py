"""Two indexes that no query needs: ix_notifications_eid and ix_rsp_sessions_eid.

Every notification stored and every session started wrote an entry into each (a WAL page per
commit on SQLite) for nothing: notifications are looked up by EID through the unique (eid, seq)
index, whose leading column is the EID, and sessions by ICCID (with the EID as a further
condition), never by EID alone.

Revision ID: fewer_indexes
Revises: package_table
"""

from alembic import op

revision = "fewer_indexes"
down_revision = "package_table"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_notifications_eid", table_name="notifications")
    op.drop_index("ix_rsp_sessions_eid", table_name="rsp_sessions")


def downgrade() -> None:
    op.create_index("ix_rsp_sessions_eid", "rsp_sessions", ["eid"])
    op.create_index("ix_notifications_eid", "notifications", ["eid"])
