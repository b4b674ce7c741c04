"""Builders for SLA tests: operators with a time zone, probes, synthetic results, and an
independent brute-force statement over in-memory rows (no code shared with the service)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.sla import service
from mobileplans.domains.sla.policy import SlaPolicy
from tests.support import operator_spec

FAILURES = ("http_error", "timeout", "connect_error", "tls_error", "bad_body")
POLICY = SlaPolicy(settle_seconds=0, rollup_batch_rows=5000)


@dataclass(frozen=True)
class Result:
    probe_id: int
    scheduled_at: datetime
    started_at: datetime
    outcome: str
    latency_ms: float
    status_code: int | None = None

    def row(self, probe: Probe) -> dict[str, Any]:
        return {
            "probe_id": self.probe_id,
            "operator_id": probe.operator_id,
            "environment": probe.environment,
            "kind": probe.kind,
            "scheduled_at": self.scheduled_at,
            "started_at": self.started_at,
            "latency_ms": self.latency_ms,
            "outcome": self.outcome,
            "status_code": self.status_code,
        }


async def add_operator(
    sessions: async_sessionmaker[AsyncSession],
    operator_id: str,
    timezone: str,
    *,
    prefix: str = "8901999",
    now: datetime,
) -> None:
    spec = operator_spec(operator_id, brand=operator_id.title(), prefix=prefix, timezone=timezone)
    async with session_scope(sessions) as session:
        await registry_service.put_operator(session, spec, actor="test", now=now)


async def add_probe(
    sessions: async_sessionmaker[AsyncSession],
    operator_id: str,
    *,
    kind: str = "getbalance",
    environment: str = "production",
    interval: int = 30,
    now: datetime,
) -> Probe:
    probe = Probe(
        operator_id=operator_id,
        environment=environment,
        kind=kind,
        target_url=f"https://api.{operator_id}.example/v1",
        interval_seconds=interval,
        next_run_at=now,
        created_at=now,
        updated_at=now,
    )
    async with session_scope(sessions) as session:
        session.add(probe)
    return probe


async def store(
    sessions: async_sessionmaker[AsyncSession], probe: Probe, results: Iterable[Result]
) -> None:
    rows = [r.row(probe) for r in results]
    async with session_scope(sessions) as session:
        for i in range(0, len(rows), 2000):
            await session.execute(insert(ProbeResult), rows[i : i + 2000])


async def roll_up_all(
    sessions: async_sessionmaker[AsyncSession], now: datetime, policy: SlaPolicy = POLICY
) -> int:
    total = 0
    for _ in range(10_000):
        async with session_scope(sessions) as session:
            done = await service.roll_up(session, now=now, policy=policy)
        total += done
        if done == 0:
            return total
    raise AssertionError("rollup did not finish")


async def max_result_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessions) as session:
        return int(await session.scalar(select(func.max(ProbeResult.id))) or 0)


def synthetic(
    probe_id: int,
    start: datetime,
    end: datetime,
    *,
    interval: int,
    seed: int,
    failure_rate: float = 0.01,
    degraded_rate: float = 0.04,
    outages: Sequence[tuple[datetime, datetime]] = (),
) -> list[Result]:
    """Results every ``interval`` s with a few seconds of start jitter and log-normal
    latencies; everything inside ``outages`` times out."""
    rng = random.Random(seed)
    results = []
    at = start
    while at < end:
        started = at + timedelta(microseconds=rng.randrange(0, 3_000_000))
        down = any(a <= started < b for a, b in outages)
        roll = rng.random()
        if down or roll < failure_rate:
            outcome = "timeout" if down else rng.choice(FAILURES)
            latency = 5000.0 if outcome == "timeout" else round(rng.uniform(0.2, 900), 3)
            code = 503 if outcome == "http_error" else None
        else:
            outcome = "degraded" if roll < failure_rate + degraded_rate else "ok"
            latency = round(math.exp(rng.gauss(math.log(120), 0.6)), 3)
            if outcome == "degraded":
                latency = round(rng.uniform(400.5, 2500), 3)
            code = 200
        results.append(Result(probe_id, at, started, outcome, latency, code))
        at += timedelta(seconds=interval)
    return results


@dataclass
class Brute:
    probes: int
    successes: int
    failures: int
    degraded: int
    excluded: int
    latencies_us: list[int]

    def rank(self, percent: int) -> int:
        """Exact nearest-rank percentile, in microseconds."""
        ordered = sorted(self.latencies_us)
        return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def brute_force(
    results: Iterable[Result],
    probe_id: int,
    start: datetime,
    end: datetime,
    excluded: Sequence[tuple[datetime, datetime]],
) -> Brute:
    counted = Brute(0, 0, 0, 0, 0, [])
    for r in results:
        if r.probe_id != probe_id or not start <= r.started_at < end:
            continue
        if any(a <= r.started_at < b for a, b in excluded):
            counted.excluded += 1
            continue
        counted.probes += 1
        if r.outcome in ("ok", "degraded"):
            counted.successes += 1
            counted.degraded += r.outcome == "degraded"
            counted.latencies_us.append(round(r.latency_ms * 1000))
        else:
            counted.failures += 1
    return counted


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
