"""Live-site monitoring tables: probes, their results, rollups, SLA contracts and statements,
maintenance windows (spec 5.1-5.3, 5.5; issue #4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base

FAILED_PROBE_OUTCOMES = ("http_error", "timeout", "connect_error", "tls_error", "bad_body")
# The partial index's predicate; a query uses the index when it repeats it word for word.
FAILED_OUTCOME_SQL = "outcome IN (" + ", ".join(f"'{o}'" for o in FAILED_PROBE_OUTCOMES) + ")"


class Probe(Base):
    """One synthetic check of one operator endpoint; the row is also its schedule.

    A worker claims a due probe with a compare-and-set on (``next_run_at``, ``lease_owner``)
    and holds a lease until ``lease_expires_at``; a worker that dies loses nothing, since an
    expired lease is claimable again.
    """

    __tablename__ = "probes"
    __table_args__ = (
        UniqueConstraint("operator_id", "environment", "kind"),
        # Covering: the incident engine counts the probed operators per environment.
        Index("ix_probes_environment_operator_enabled", "environment", "operator_id", "enabled"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # portal | getbalance | microbalance
    target_url: Mapped[str] = mapped_column(Text)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=30)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    latency_target_ms: Mapped[float] = mapped_column(Float, default=400.0)
    jitter_ms: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, index=True)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProbeResult(Base):
    """One probe run: outcome, HTTP status, latency, when it was due and when it ran."""

    __tablename__ = "probe_results"
    __table_args__ = (
        Index("ix_probe_results_probe_started", "probe_id", "started_at"),
        UniqueConstraint("probe_id", "scheduled_at"),  # a due run is stored once, whoever ran it
        # Failed runs only: the incident engine finds the failing probes of its window
        # without reading the (mostly successful) rest.
        Index(
            "ix_probe_results_failed_started",
            "started_at",
            "probe_id",
            sqlite_where=text(FAILED_OUTCOME_SQL),
            postgresql_where=text(FAILED_OUTCOME_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    probe_id: Mapped[int] = mapped_column(Integer)
    operator_id: Mapped[str] = mapped_column(String(64))
    environment: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(index=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(
        String(16)
    )  # ok | degraded | http_error | timeout | connect_error | tls_error | bad_body
    status_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(300))
    worker: Mapped[str | None] = mapped_column(String(64))


class ProbeRollup(Base):
    """Counts and a latency histogram per probe per minute, hour or day (mergeable)."""

    __tablename__ = "probe_rollups"
    __table_args__ = (Index("ix_probe_rollups_granularity_bucket", "granularity", "bucket_start"),)

    probe_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    granularity: Mapped[str] = mapped_column(String(8), primary_key=True)  # minute | hour | day
    bucket_start: Mapped[datetime] = mapped_column(primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    probes: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    degraded: Mapped[int] = mapped_column(Integer)
    latency_sum_ms: Mapped[float] = mapped_column(Float)
    histogram: Mapped[list[Any]]


class SlaContract(Base):
    """An operator's targets (spec 5.2: 99.9 % and 400 ms unless the contract says otherwise)."""

    __tablename__ = "sla_contracts"

    operator_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    availability_target: Mapped[float] = mapped_column(Float, default=99.9)
    latency_target_ms: Mapped[float] = mapped_column(Float, default=400.0)
    latency_statistic: Mapped[str] = mapped_column(
        String(8), default="avg"
    )  # avg | p50 | p95 | p99
    updated_at: Mapped[datetime]


class SlaStatement(Base):
    """An issued statement for a closed period: frozen, with a digest of its evidence."""

    __tablename__ = "sla_statements"
    __table_args__ = (
        UniqueConstraint("operator_id", "kind", "environment", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    period_label: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    statement: Mapped[dict[str, Any]]
    evidence_digest: Mapped[str] = mapped_column(String(64))


class MaintenanceWindow(Base):
    """Planned maintenance (spec 5.5): excluded from SLA, opens no incident when announced."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str | None] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))  # platform | operator
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    impact: Mapped[str] = mapped_column(Text)
    announced_at: Mapped[datetime]
    notice_business_days: Mapped[float] = mapped_column(Float)
    late_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    completion_sent_at: Mapped[datetime | None]


class JobWatermark(Base):
    """How far an incremental job (e.g. the rollup of new probe results) has got."""

    __tablename__ = "job_watermarks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    updated_at: Mapped[datetime]
