"""incident call tasks: phone escalations one side owes

Revision ID: 7c1a5e0d9b21
Revises: 5b7e9c2d4a18
Create Date: 2026-12-05 21:00:00

Issue #10: the High / Sev 1 paths and the two-level policies' outage communications
escalate by telephone; each becomes a call task on the incident until a call is recorded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mobileplans.db.base

revision: str = "7c1a5e0d9b21"
down_revision: str | None = "5b7e9c2d4a18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = mobileplans.db.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "incident_call_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(length=48), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("caller", sa.String(length=16), nullable=False),
        sa.Column("callee", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reached", sa.String(length=120), nullable=True),
        sa.Column("opened_at", UTC(timezone=True), nullable=False),
        sa.Column("closed_at", UTC(timezone=True), nullable=True),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_call_tasks_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_call_tasks")),
        sa.UniqueConstraint("open_key", name=op.f("uq_incident_call_tasks_open_key")),
    )
    op.create_index(
        op.f("ix_incident_call_tasks_incident_id"), "incident_call_tasks", ["incident_id"]
    )
    op.create_index(op.f("ix_incident_call_tasks_status"), "incident_call_tasks", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_call_tasks_status"), table_name="incident_call_tasks")
    op.drop_index(op.f("ix_incident_call_tasks_incident_id"), table_name="incident_call_tasks")
    op.drop_table("incident_call_tasks")
