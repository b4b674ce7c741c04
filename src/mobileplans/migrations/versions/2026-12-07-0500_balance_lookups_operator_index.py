"""balance_lookups: drop the index on operator_id alone (D304)

Revision ID: c3f7a9d2e815
Revises: b5c8e1f04d62
Create Date: 2026-12-07 05:00:00

The broker writes one row for every GetBalance it proxies. Every query of the table
reads a time range (``at``, indexed), then groups or filters by operator. SQLite's
planner took the operator's index for a query naming one operator and read that
operator's whole history; without it, it reads the window. Keeping it up to date doubled
the cost of a row on SQLite (6.3 against 3.3 us, measured in D304).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3f7a9d2e815"
down_revision: str | None = "b5c8e1f04d62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "balance_lookups"


def upgrade() -> None:
    op.drop_index(op.f("ix_balance_lookups_operator_id"), table_name=TABLE)


def downgrade() -> None:
    op.create_index(op.f("ix_balance_lookups_operator_id"), TABLE, ["operator_id"])
