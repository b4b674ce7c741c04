"""The probe schedule: a fixed grid per probe, claims with compare-and-set, batched completion.

Grid. A probe with interval ``I`` seconds and jitter ``J`` ms runs at the instants
``epoch + J + k·I``. ``J`` is a stable hash of (operator, environment, kind) modulo the
interval, so probes spread over the interval instead of bunching on its first second, and a
probe keeps its slots across restarts and workers.

Claims (healthchecks' ``sendalerts`` pattern). A worker leases due rows with one
``UPDATE … WHERE id IN (candidates) AND <still due, lease free or expired> RETURNING``; two
workers never lease the same row at once. A lease lasts ``2 × timeout + 5 s`` past the slot;
if the worker dies, the row becomes claimable again when it expires.

Completion. Results are inserted in batches, ``ON CONFLICT (probe_id, scheduled_at) DO
NOTHING`` (a slot is stored once, whoever ran it; a late duplicate is "already done"), and
each probe moves from the slot it ran to the next one with a compare-and-set on
``next_run_at``. Slots more than one interval in the past are skipped and counted as missed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.probe import metrics, repository
from mobileplans.domains.probe.schemas import (
    ClaimedRun,
    CompletionSummary,
    ProbeRead,
    RunResult,
)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
LEASE_MARGIN_SECONDS: Final = 5.0


def jitter_ms_for(operator_id: str, environment: str, kind: str, interval_seconds: int) -> int:
    """The probe's stable offset within its interval, in ms (same inputs, same offset)."""
    digest = hashlib.blake2b(f"{operator_id}/{environment}/{kind}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") % (interval_seconds * 1000)


def _slot_ms(instant: datetime) -> int:
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _from_ms(milliseconds: int) -> datetime:
    return EPOCH + timedelta(milliseconds=milliseconds)


def slot_at_or_after(instant: datetime, interval_seconds: int, jitter_ms: int) -> datetime:
    """The first slot of the grid at or after ``instant``."""
    period = interval_seconds * 1000
    offset = _slot_ms(instant) - jitter_ms
    k = -(-offset // period)  # ceil
    candidate = _from_ms(k * period + jitter_ms)
    return candidate if candidate >= instant else candidate + timedelta(milliseconds=period)


def slot_at_or_before(instant: datetime, interval_seconds: int, jitter_ms: int) -> datetime:
    """The last slot of the grid at or before ``instant``."""
    period = interval_seconds * 1000
    k = (_slot_ms(instant) - jitter_ms) // period
    return _from_ms(k * period + jitter_ms)


def advance(scheduled_at: datetime, interval_seconds: int, now: datetime) -> tuple[datetime, int]:
    """The slot after ``scheduled_at``, skipping slots over one interval old; and how many."""
    interval = timedelta(seconds=interval_seconds)
    following = scheduled_at + interval
    oldest_kept = now - interval
    if following >= oldest_kept:
        return following, 0
    steps = math.ceil((oldest_kept - scheduled_at) / interval)
    return scheduled_at + steps * interval, steps - 1


def rebase(due_at: datetime, interval_seconds: int, now: datetime) -> tuple[datetime, int]:
    """The slot to run for a row due at ``due_at``: itself, or the latest due slot if stale."""
    interval = timedelta(seconds=interval_seconds)
    if due_at >= now - interval:
        return due_at, 0
    steps = (now - due_at) // interval
    return due_at + steps * interval, steps


def unscheduled_run(probe: ProbeRead, now: datetime) -> ClaimedRun:
    """A run of ``probe`` right now, outside its grid (diagnostics; never recorded)."""
    return ClaimedRun(
        probe_id=probe.id,
        operator_id=probe.operator_id,
        environment=probe.environment,
        kind=probe.kind,
        target_url=probe.target_url,
        due_at=probe.next_run_at,
        scheduled_at=now,
        interval_seconds=probe.interval_seconds,
        timeout_seconds=probe.timeout_seconds,
        latency_target_ms=probe.latency_target_ms,
    )


def lease_seconds(timeout_seconds: float) -> float:
    return 2 * timeout_seconds + LEASE_MARGIN_SECONDS


def _claimed(row: Any, now: datetime) -> ClaimedRun:
    scheduled, missed = rebase(row.next_run_at, int(row.interval_seconds), now)
    return ClaimedRun(
        probe_id=int(row.id),
        operator_id=row.operator_id,
        environment=row.environment,
        kind=row.kind,
        target_url=row.target_url,
        due_at=row.next_run_at,
        scheduled_at=scheduled,
        interval_seconds=int(row.interval_seconds),
        timeout_seconds=float(row.timeout_seconds),
        latency_target_ms=float(row.latency_target_ms),
        missed=missed,
    )


async def claim_due(
    session: AsyncSession,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lookahead_seconds: float = 0.0,
    operator_id: str | None = None,
) -> list[ClaimedRun]:
    """Lease up to ``limit`` rows due by ``now + lookahead``; each run starts at its slot."""
    horizon = now + timedelta(seconds=lookahead_seconds)
    rows = await repository.claim(
        session,
        worker_id=worker_id,
        now=now,
        horizon=horizon,
        lease_margin_seconds=LEASE_MARGIN_SECONDS,
        limit=limit,
        operator_id=operator_id,
    )
    runs = [_claimed(row, now) for row in rows]
    runs.sort(key=lambda r: r.scheduled_at)
    metrics.observe_missed([(run, run.missed) for run in runs if run.missed])
    return runs


async def release(session: AsyncSession, *, worker_id: str, probe_ids: Sequence[int]) -> None:
    """Hand back claims this worker will not run (shutdown)."""
    if probe_ids:
        await repository.release(session, worker_id=worker_id, probe_ids=list(probe_ids))


def _result_row(result: RunResult) -> dict[str, Any]:
    run = result.run
    return {
        "probe_id": run.probe_id,
        "operator_id": run.operator_id,
        "environment": run.environment,
        "kind": run.kind,
        "scheduled_at": run.scheduled_at,
        "started_at": result.started_at,
        "latency_ms": round(result.latency_ms, 3),
        "outcome": result.outcome.value,
        "status_code": result.status,
        "detail": result.detail[:300] if result.detail else None,
        "worker": result.worker,
    }


async def complete(
    session: AsyncSession, results: Sequence[RunResult], *, now: datetime
) -> CompletionSummary:
    """Store a batch of results and move each probe to its next slot, in this transaction."""
    inserted = await repository.insert_results(session, [_result_row(r) for r in results])
    stored: list[dict[str, Any]] = []
    duplicates: list[dict[str, Any]] = []
    skipped_slots: list[tuple[ClaimedRun, int]] = []
    for result in results:
        run = result.run
        following, skipped = advance(run.scheduled_at, run.interval_seconds, now)
        if skipped:
            skipped_slots.append((run, skipped))
        params = {"b_id": run.probe_id, "b_due": run.due_at, "b_next": following, "b_now": now}
        if (run.probe_id, run.scheduled_at) in inserted:
            params["b_failed"] = result.outcome.is_failure
            params["b_outcome"] = result.outcome.value
            params["b_run_at"] = result.started_at
            stored.append(params)
        else:
            duplicates.append(params)
    await repository.advance(session, stored, with_outcome=True)
    await repository.advance(session, duplicates, with_outcome=False)
    metrics.observe_duplicates(len(duplicates))
    metrics.observe_missed(skipped_slots)
    missed = sum(n for _, n in skipped_slots)
    return CompletionSummary(stored=len(stored), duplicates=len(duplicates), missed=missed)
