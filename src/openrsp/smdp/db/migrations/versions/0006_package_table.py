"""The sealed package in its own table: profile_packages (iccid → sealed package).

A state change (an UPDATE of the profile row) no longer rewrites the 13 KB package with it, and a
query that does not need the package does not read it. Existing packages are copied over, then
the column goes.

Revision ID: package_table
Revises: notification_once
"""

import sqlalchemy as sa
from alembic import op

revision = "package_table"
down_revision = "notification_once"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile_packages",
        sa.Column(
            "iccid",
            sa.String(20),
            sa.ForeignKey("profiles.iccid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("package", sa.LargeBinary, nullable=False),
    )
    op.execute(sa.text("INSERT INTO profile_packages (iccid, package) SELECT iccid, package FROM profiles"))
    # SQLite ≥ 3.35 drops a plain column in place (no table copy, which would cascade deletes).
    op.drop_column("profiles", "package")


def downgrade() -> None:
    op.add_column("profiles", sa.Column("package", sa.LargeBinary, nullable=True))
    op.execute(
        sa.text(
            "UPDATE profiles SET package = "
            "(SELECT package FROM profile_packages WHERE profile_packages.iccid = profiles.iccid)"
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("profiles", "package", nullable=False)
    op.drop_table("profile_packages")
