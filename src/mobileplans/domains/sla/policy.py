"""Tunable SLA, rollup and retention settings (``MP_SLA_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SlaPolicy(BaseSettings):
    """Defaults are the documented ones (``docs/monitoring.md``); each can be overridden.

    ``raw_retention_days``: raw probe results are deleted after this (spec says nothing; 400
    days keeps a whole contract year plus a month to dispute it). ``minute_rollup_hours``:
    minute rollups serve burn-rate windows only (the longest short window is 6 h; the 3-day
    window reads hour rollups and minute edges). ``hour_rollup_days`` / ``day_rollup_days``:
    0 keeps them forever. ``settle_seconds``: how long the rollup waits behind a gap in result
    ids (a transaction still writing) before it goes past it.
    """

    model_config = SettingsConfigDict(env_prefix="MP_SLA_", extra="ignore")

    raw_retention_days: int = Field(default=400, ge=1)
    minute_rollup_hours: int = Field(default=48, ge=7)
    hour_rollup_days: int = Field(default=800, ge=0)
    day_rollup_days: int = Field(default=0, ge=0)
    rollup_interval_seconds: float = Field(default=15.0, gt=0)
    rollup_batch_rows: int = Field(default=20_000, ge=1)
    rollup_max_batches: int = Field(default=50, ge=1)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)
    retention_batch_rows: int = Field(default=50_000, ge=1)
    settle_seconds: float = Field(default=120.0, ge=0)
    issue_grace_seconds: float = Field(default=900.0, ge=0)
    burn_min_failures: int = Field(default=3, ge=0)
    traffic_window_seconds: int = Field(default=300, ge=10, le=7 * 86400)
