"""Initial SM-DP+ schema: operators, profiles, orders, RSP sessions, notifications, events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("cert_cn", sa.String(256), unique=True),
        sa.Column("callback_url", sa.String(1024)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("iccid", sa.String(20), nullable=False, unique=True),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("profile_type", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("package", sa.LargeBinary, nullable=False),
        sa.Column("secrets", sa.LargeBinary, nullable=False),
        sa.Column("imsi", sa.String(16)),
        sa.Column("msisdn", sa.String(32)),
        sa.Column("spn", sa.String(64)),
        sa.Column("profile_name", sa.String(64)),
        sa.Column("profile_class", sa.String(16), nullable=False),
        sa.Column("icon_type", sa.String(8)),
        sa.Column("icon", sa.LargeBinary),
        sa.Column("extra", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_profiles_state", "profiles", ["state"])
    op.create_index("ix_profiles_pick", "profiles", ["operator_id", "profile_type", "state"])
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey("profiles.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("eid", sa.String(32)),
        sa.Column("matching_id", sa.String(255), unique=True),
        sa.Column("cc_hash", sa.LargeBinary),
        sa.Column("cc_attempts", sa.Integer, nullable=False),
        sa.Column("cc_max_attempts", sa.Integer, nullable=False),
        sa.Column("download_attempts", sa.Integer, nullable=False),
        sa.Column("max_download_attempts", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("release_flag", sa.Boolean, nullable=False),
        sa.Column("smds_address", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_orders_eid", "orders", ["eid"])
    op.create_table(
        "rsp_sessions",
        sa.Column("transaction_id", sa.String(32), primary_key=True),
        sa.Column("iccid", sa.String(20), sa.ForeignKey("profiles.iccid")),
        sa.Column("eid", sa.String(32)),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_rsp_sessions_iccid", "rsp_sessions", ["iccid"])
    op.create_index("ix_rsp_sessions_eid", "rsp_sessions", ["eid"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer),
        sa.Column("eid", sa.String(32)),
        sa.Column("iccid", sa.String(20)),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("received_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_notifications_eid", "notifications", ["eid"])
    op.create_index("ix_notifications_iccid", "notifications", ["iccid"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("iccid", sa.String(20), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16)),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_events_iccid", "events", ["iccid"])


def downgrade() -> None:
    for table in ("events", "notifications", "rsp_sessions", "orders", "profiles", "operators"):
        op.drop_table(table)
