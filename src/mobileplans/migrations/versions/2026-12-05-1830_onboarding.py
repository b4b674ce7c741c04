"""onboarding projects, milestones, evidence, timeline; operators' phone-number prefixes

Revision ID: 5b7e9c2d4a18
Revises: 8d2f4b6a1c93
Create Date: 2026-12-05 18:30:00

Issue #9: the onboarding spine (spec 4.4-4.5) and the E.164 prefixes an operator serves
(phone-number lookup, spec 1.11 / 2.10).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mobileplans.db.base

revision: str = "5b7e9c2d4a18"
down_revision: str | None = "8d2f4b6a1c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = mobileplans.db.base.UtcDateTime


def _operator_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["operator_id"],
        ["operators.id"],
        name=op.f(f"fk_{table}_operator_id_operators"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("phone_prefixes", sa.JSON(), nullable=True))
    op.create_table(
        "onboarding_projects",
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("production_stage", sa.String(length=8), nullable=False),
        sa.Column("go_override", sa.JSON(), nullable=True),
        sa.Column("scheduled_promotion", sa.JSON(), nullable=True),
        sa.Column("launched_at", UTC(timezone=True), nullable=True),
        sa.Column("accepted_at", UTC(timezone=True), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        _operator_fk("onboarding_projects"),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_onboarding_projects")),
    )
    op.create_table(
        "onboarding_milestones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=48), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("estimate_days", sa.Integer(), nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("done_at", UTC(timezone=True), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("signoffs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["onboarding_projects.operator_id"],
            name=op.f("fk_onboarding_milestones_operator_id_onboarding_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_milestones")),
        sa.UniqueConstraint(
            "operator_id", "key", name=op.f("uq_onboarding_milestones_operator_id")
        ),
    )
    op.create_index(
        op.f("ix_onboarding_milestones_operator_id"), "onboarding_milestones", ["operator_id"]
    )
    op.create_table(
        "onboarding_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("finished_at", UTC(timezone=True), nullable=False),
        sa.Column("received_at", UTC(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        _operator_fk("onboarding_evidence"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_evidence")),
        sa.UniqueConstraint(
            "operator_id", "sha256", name=op.f("uq_onboarding_evidence_operator_id")
        ),
    )
    op.create_index(
        op.f("ix_onboarding_evidence_operator_id"), "onboarding_evidence", ["operator_id"]
    )
    op.create_table(
        "onboarding_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _operator_fk("onboarding_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_events")),
    )
    op.create_index(op.f("ix_onboarding_events_operator_id"), "onboarding_events", ["operator_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_onboarding_events_operator_id"), table_name="onboarding_events")
    op.drop_table("onboarding_events")
    op.drop_index(op.f("ix_onboarding_evidence_operator_id"), table_name="onboarding_evidence")
    op.drop_table("onboarding_evidence")
    op.drop_index(op.f("ix_onboarding_milestones_operator_id"), table_name="onboarding_milestones")
    op.drop_table("onboarding_milestones")
    op.drop_table("onboarding_projects")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("phone_prefixes")
