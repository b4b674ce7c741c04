"""probes: covering index for the probed operators per environment

Revision ID: 8d2f4b6a1c93
Revises: 3c1e5a9d7f20
Create Date: 2026-12-05 18:10:00

The incident engine counts, every pass, the operators with an enabled probe per
environment (the global quorum's denominator); this index answers it without reading the
table (issue #8).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8d2f4b6a1c93"
down_revision: str | None = "3c1e5a9d7f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_probes_environment_operator_enabled",
        "probes",
        ["environment", "operator_id", "enabled"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_probes_environment_operator_enabled", table_name="probes")
