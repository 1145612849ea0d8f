"""Orders keep the one-time key binding of their last delivered package, for a download retry.

SGP.22 §3.1.3 (retry cases), §5.6.2 (bppEuiccOtpk in smdpSigned2): after an attempt that reached
getBoundProfilePackage ends (cancelSession postponed or timeout, lost connectivity, a new session),
the SM-DP+ offers the eUICC its earlier otPK.EUICC and, when the eUICC reuses it, binds again with
the same otPK.DP. `orders.retry_binding` holds {eid, euicc_otpk, secret}: the otPK in clear, the
otSK.DP and profile protection keys sealed under the KEK (es9_binding.seal).

Revision ID: 0003_order_retry_binding
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_order_retry_binding"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("orders", sa.Column("retry_binding", _JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "retry_binding")
