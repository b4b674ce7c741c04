"""smdp callback outbox: HandleDownloadProgressInfo callbacks kept until delivered

Revision ID: 9e4d2b7c5a31
Revises: 7c1a5e0d9b21
Create Date: 2026-12-05 22:00:00

Issue #11: the SM-DP+'s callbacks were delivered from memory with bounded retries; an
operator down longer than the retries, or an SM-DP+ restart, lost them. Each callback is
now a row written in the transaction of the profile change, delivered in order per ICCID.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mobileplans.db.base

revision: str = "9e4d2b7c5a31"
down_revision: str | None = "7c1a5e0d9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = mobileplans.db.base.UtcDateTime
TABLE = "smdp_callback_outbox"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("iccid", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC(timezone=True), nullable=False),
        sa.Column("delivered_at", UTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smdp_callback_outbox")),
    )
    op.create_index(op.f("ix_smdp_callback_outbox_iccid"), TABLE, ["iccid"])
    op.create_index(op.f("ix_smdp_callback_outbox_status"), TABLE, ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_smdp_callback_outbox_status"), table_name=TABLE)
    op.drop_index(op.f("ix_smdp_callback_outbox_iccid"), table_name=TABLE)
    op.drop_table(TABLE)
