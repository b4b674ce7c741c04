"""mo_orders.reconcile_due_at: orders whose downloadOrder answer was lost (D232, D245)

Revision ID: b5c8e1f04d62
Revises: 9e4d2b7c5a31
Create Date: 2026-12-05 22:30:00

Issue #11: an order failed on ``downloadOrder`` with the SM-DP+ unreachable or its answer
lost is marked for reconciliation; the operator's job replays the call (same
functionCallIdentifier) and gives back the profile it names.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mobileplans.db.base

revision: str = "b5c8e1f04d62"
down_revision: str | None = "9e4d2b7c5a31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = mobileplans.db.base.UtcDateTime
TABLE = "mo_orders"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("reconcile_due_at", UTC(timezone=True), nullable=True))
    op.create_index(op.f("ix_mo_orders_reconcile_due_at"), TABLE, ["reconcile_due_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mo_orders_reconcile_due_at"), table_name=TABLE)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("reconcile_due_at")
