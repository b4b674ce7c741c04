"""incident engine indexes: failed probe results by start, probes by consecutive failures

Revision ID: 3c1e5a9d7f20
Revises: 75564775e3b8
Create Date: 2026-12-05 18:00:00

The incident engine's pass reads only what is failing (issue #8): the failed results of
its window through a partial index, and the probes failing now through an index on
``consecutive_failures`` (almost every row is 0).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1e5a9d7f20"
down_revision: str | None = "75564775e3b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED = "outcome IN ('http_error', 'timeout', 'connect_error', 'tls_error', 'bad_body')"


def upgrade() -> None:
    op.create_index(
        "ix_probe_results_failed_started",
        "probe_results",
        ["started_at", "probe_id"],
        unique=False,
        sqlite_where=sa.text(FAILED),
        postgresql_where=sa.text(FAILED),
    )
    op.create_index(
        op.f("ix_probes_consecutive_failures"), "probes", ["consecutive_failures"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_probes_consecutive_failures"), table_name="probes")
    op.drop_index("ix_probe_results_failed_started", table_name="probe_results")
