"""A notification is stored once: unique (eid, seq).

An eUICC numbers its notifications (seqNumber); the same EID and sequence number again is a replay
(an LPA retrying, or an attacker), acknowledged but not stored. Duplicates already stored are
dropped first (the oldest row of each stays). Rows without an EID or a sequence number are not
constrained (NULLs are distinct in a unique index on SQLite and PostgreSQL).

Revision ID: notification_once
Revises: outbox_smds
"""

import sqlalchemy as sa
from alembic import op

revision = "notification_once"
down_revision = "outbox_smds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM notifications WHERE eid IS NOT NULL AND seq IS NOT NULL AND id NOT IN "
            "(SELECT MIN(id) FROM notifications WHERE eid IS NOT NULL AND seq IS NOT NULL GROUP BY eid, seq)"
        )
    )
    op.create_index("ux_notifications_eid_seq", "notifications", ["eid", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_notifications_eid_seq", table_name="notifications")
