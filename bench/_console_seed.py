"""The data behind ``bench.console``: a registry of operators, their probes, a month of
rollups, the last hours of raw results, open incidents and announced maintenance.

- Operators go in through the registry service (``import_document``): each has a test and
  a full ICCID range under its own 8-digit prefix, a monitoring ICCID (valid check digit),
  contacts by severity, a phone prefix, and a time zone cycling through whole and
  off-the-hour offsets (month-to-date figures need raw edges there).
- Probes come from the probe service's registry sync: a portal and a GetBalance probe per
  operator (production).
- Raw results of the last ``raw_hours`` (one per probe per 30 s, the SLA bench's samples:
  0.2 % failures) are loaded in bulk and rolled up by the **real rollup job** (hour, day and
  minute rollups exactly as the worker makes them); the newest 30 s stay past the rollup
  watermark, as between two 15-s runs of the job.
- Older hours of the month, back to ``days`` days, are hour and day rollup rows written in
  bulk with Core inserts (tallies of the same samples; the day row of the day the raw
  window starts in is the sum of its older hours, the job adds the rest into it).
- Incidents are declared and maintenance announced through their services (the
  notifications they queue stay queued: no worker runs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum import luhn

from bench._sla_data import Generator, PgLoader, Samples, SqliteLoader
from mobileplans.config import Settings
from mobileplans.db.engine import is_sqlite
from mobileplans.db.models import Probe, ProbeRollup
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.incident import service as incident_service
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import DeclareIncident
from mobileplans.domains.maintenance_notice import service as notice_service
from mobileplans.domains.maintenance_notice.schemas import NoticeIn
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec, RegistryDocument
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.sla import histogram
from mobileplans.domains.sla import service as sla_service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.tally import Tally

Sessions = async_sessionmaker[AsyncSession]
ZONES = ("UTC", "Asia/Kolkata", "America/New_York", "Asia/Kathmandu", "Europe/Paris")
COUNTRIES = ("US", "GB", "FR", "DE", "IN", "NP", "AU", "CA")
INTERVAL = timedelta(seconds=30)
ROLLUP_ROWS_PER_INSERT = 5_000


@dataclass
class Shape:
    operators: int = 500
    days: int = 30
    raw_hours: int = 24
    incidents: int = 60
    maintenance: int = 100


@dataclass
class Seeded:
    operators: list[str]
    probes: int
    raw_rows: int
    rollup_rows: dict[str, int]
    incidents: int
    maintenance: int
    measured_operator: str
    operator_token: str
    seconds: dict[str, float] = field(default_factory=dict)


# --- registry --------------------------------------------------------------------------


def iccid_prefix(i: int) -> str:
    """Eight digits, distinct per operator: ``8919`` + the operator's number."""
    return f"8919{i:04d}"


def monitoring_iccid(prefix: str) -> str:
    body = prefix + "1000000001"
    return body + luhn.calc_check_digit(body)


def operator_spec(i: int) -> OperatorSpec:
    op, prefix = f"op{i:04d}", iccid_prefix(i)
    phone = f"+142555501{i % 100:02d}"  # 555-01xx: fictional numbers
    return OperatorSpec.model_validate(
        {
            "id": op,
            "brandName": f"Operator {i}",
            "countries": [COUNTRIES[i % len(COUNTRIES)]],
            "monitoringIccid": monitoring_iccid(prefix),
            "phonePrefixes": [f"+1425{i:04d}"],
            "timezone": ZONES[i % len(ZONES)],
            "environments": {
                "production": {
                    "portalUrl": f"https://portal.{op}.example/mp/",
                    "moBaseUrl": f"https://api.{op}.example/mo/",
                }
            },
            "contacts": [
                {
                    "severity": "sev1",
                    "name": f"{op} NOC",
                    "phone": phone,
                    "email": f"noc@{op}.example",
                },
                {"name": f"{op} operations", "email": f"ops@{op}.example"},
            ],
            "iccidRanges": [
                {
                    "environment": "production",
                    "kind": "test",
                    "start": prefix + "00000000000",
                    "end": prefix + "09999999999",
                },
                {
                    "environment": "production",
                    "kind": "full",
                    "start": prefix + "10000000000",
                    "end": prefix + "99999999999",
                },
            ],
        }
    )


async def seed_registry(sessions: Sessions, count: int, now: datetime) -> list[Probe]:
    specs = [operator_spec(i) for i in range(count)]
    async with session_scope(sessions) as session:
        await registry_service.import_document(
            session, RegistryDocument(operators=specs), actor="bench", now=now
        )
        await probe_service.sync_from_registry(session, now=now)
    async with session_scope(sessions) as session:
        return list((await session.scalars(select(Probe).order_by(Probe.id))).all())


# --- rollups of the older hours ---------------------------------------------------------


def hour_pool(size: int = 64) -> list[Tally]:
    """Tallies of 120 results (an hour at 30 s), drawn from the SLA bench's samples."""
    values = Samples().values
    rng = random.Random(11)
    pool = []
    for _ in range(size):
        tally = Tally()
        for _ in range(3600 // int(INTERVAL.total_seconds())):
            latency, outcome, _status = values[rng.randrange(len(values))]
            tally.add_result(outcome, latency)
        pool.append(tally)
    return pool


def _row(probe: Probe, grain: str, start: datetime, tally: Tally) -> dict[str, Any]:
    return {
        "probe_id": probe.id,
        "granularity": grain,
        "bucket_start": start,
        "operator_id": probe.operator_id,
        "environment": probe.environment,
        "kind": probe.kind,
        "probes": tally.probes,
        "failures": tally.failures,
        "degraded": tally.degraded,
        "latency_sum_ms": tally.latency_sum_ms,
        "histogram": histogram.encode(tally.histogram),
    }


def probe_rollups(
    probe: Probe, pool: list[Tally], first: datetime, last: datetime
) -> list[dict[str, Any]]:
    """Hour rows for ``[first, last)`` and day rows summing them (by UTC day)."""
    rows: list[dict[str, Any]] = []
    days: dict[datetime, Tally] = {}
    hour, k = first, probe.id * 7
    while hour < last:
        tally = pool[k % len(pool)]
        k += 1
        rows.append(_row(probe, "hour", hour, tally))
        day = hour.replace(hour=0)
        days.setdefault(day, Tally()).merge(tally)
        hour += timedelta(hours=1)
    rows.extend(_row(probe, "day", day, tally) for day, tally in days.items())
    return rows


async def seed_old_rollups(
    sessions: Sessions, probes: list[Probe], first: datetime, last: datetime
) -> dict[str, int]:
    pool, counts = hour_pool(), {"hour": 0, "day": 0}
    batch: list[dict[str, Any]] = []
    for probe in probes:
        for row in probe_rollups(probe, pool, first, last):
            counts[row["granularity"]] += 1
            batch.append(row)
        if len(batch) >= ROLLUP_ROWS_PER_INSERT:
            await _insert_rollups(sessions, batch)
            batch = []
    await _insert_rollups(sessions, batch)
    return counts


async def _insert_rollups(sessions: Sessions, rows: list[dict[str, Any]]) -> None:
    if rows:
        async with session_scope(sessions) as session:
            await session.execute(insert(ProbeRollup), rows)


# --- raw results and the rollup job -----------------------------------------------------


async def seed_raw(
    sessions: Sessions, url: str, probes: list[Probe], first: datetime, now: datetime
) -> int:
    """Results from ``first`` to ``now``, rolled up by the real job up to the last slot."""
    loader: PgLoader | SqliteLoader
    loader = SqliteLoader(url.split("///", 1)[1]) if is_sqlite(url) else PgLoader(url)
    generator = Generator(probes, Samples(), as_text=is_sqlite(url))
    slots = int((now - first) / INTERVAL)
    total, last = 0, dict[int, tuple[datetime, str]]()
    try:
        for chunk in range(0, slots, 240):  # two hours per chunk, then the job catches up
            rows: list[tuple[Any, ...]] = []
            for k in range(chunk, min(chunk + 240, slots)):
                made = generator.slot(first + k * INTERVAL, k)
                last.update((r[0], (first + k * INTERVAL, r[7])) for r in made)
                if k < slots - 1:
                    rows.extend(made)
                else:  # the newest slot stays past the watermark
                    await loader.load(rows)
                    await roll_up(sessions, now)
                    rows = made
            await loader.load(rows)
            total += (min(chunk + 240, slots) - chunk) * len(probes)
            if chunk + 240 < slots:
                await roll_up(sessions, now)
    finally:
        await loader.close()
    await _last_outcomes(sessions, last)
    return total


async def roll_up(sessions: Sessions, now: datetime) -> None:
    policy = SlaPolicy(rollup_batch_rows=200_000, settle_seconds=0)
    while True:
        async with session_scope(sessions) as session:
            done = await sla_service.roll_up(session, now=now, policy=policy)
        if done < policy.rollup_batch_rows:
            return


async def _last_outcomes(sessions: Sessions, last: dict[int, tuple[datetime, str]]) -> None:
    """Each probe's last run as the runner records it (the overview's up/down dots)."""
    async with session_scope(sessions) as session:
        for probe_id, (at, outcome) in last.items():
            await session.execute(
                update(Probe)
                .where(Probe.id == probe_id)
                .values(last_outcome=outcome, last_run_at=at, next_run_at=at + INTERVAL)
            )


# --- incidents, maintenance, a credential -----------------------------------------------


async def seed_incidents(
    sessions: Sessions, operators: list[str], count: int, now: datetime
) -> int:
    """``count`` open incidents declared by the platform (a third of them outages)."""
    ctx = NotifyContext(list(Settings().platform_contacts))
    step = max(1, len(operators) // max(1, count))
    chosen = operators[::step][:count]
    for n, operator_id in enumerate(chosen):
        spec = DeclareIncident.model_validate(
            {
                "operatorId": operator_id,
                "category": "other",
                "title": f"bench incident {n}: GetBalance errors",
                "severity": ("sev1", "sev2", "sev3")[n % 3],
                "outage": n % 3 == 0,
                "message": "Investigating elevated errors." if n % 3 == 0 else None,
            }
        )
        async with session_scope(sessions) as session:
            await incident_service.declare(session, ctx, PLATFORM_ADMIN, spec, now=now)
    return len(chosen)


async def seed_maintenance(
    sessions: Sessions, operators: list[str], count: int, now: datetime
) -> int:
    """``count`` windows announced by the platform over the next 60 days."""
    contacts = Settings().platform_contacts
    rng = random.Random(5)
    for n in range(count):
        start = (now + timedelta(days=1 + rng.randrange(60), hours=rng.randrange(24))).replace(
            minute=0, second=0, microsecond=0
        )
        spec = NoticeIn(
            operator_id=operators[(n * 7) % len(operators)],
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            impact="GetBalance unavailable for up to 15 minutes",
        )
        async with session_scope(sessions) as session:
            await notice_service.schedule(session, PLATFORM_ADMIN, spec, contacts=contacts, now=now)
    return count


async def operator_credential(sessions: Sessions, operator_id: str, now: datetime) -> str:
    async with session_scope(sessions) as session:
        issued = await access_service.create_credential(
            session, operator_id=operator_id, name="bench console", now=now
        )
    return issued.token


# --- all of it --------------------------------------------------------------------------


async def seed(sessions: Sessions, url: str, shape: Shape, now: datetime) -> Seeded:
    import time

    clock: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        clock[name] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()

    probes = await seed_registry(sessions, shape.operators, now)
    operators = sorted({p.operator_id for p in probes})
    lap("registry")
    raw_first = (now - timedelta(hours=shape.raw_hours)).replace(minute=0, second=0, microsecond=0)
    month_first = (now - timedelta(days=shape.days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    rollups = await seed_old_rollups(sessions, probes, month_first, raw_first)
    lap("old rollups")
    raw_rows = await seed_raw(sessions, url, probes, raw_first, now)
    lap("raw results + rollup job")
    incidents = await seed_incidents(sessions, operators, shape.incidents, now)
    maintenance = await seed_maintenance(sessions, operators, shape.maintenance, now)
    lap("incidents + maintenance")
    measured = operators[1] if len(operators) > 1 else operators[0]
    token = await operator_credential(sessions, measured, now)
    return Seeded(
        operators=operators,
        probes=len(probes),
        raw_rows=raw_rows,
        rollup_rows=rollups,
        incidents=incidents,
        maintenance=maintenance,
        measured_operator=measured,
        operator_token=token,
        seconds=clock,
    )


def data_settings(data_dir: Path, url: str | None) -> Settings:
    return Settings(data_dir=data_dir, database_url=url) if url else Settings(data_dir=data_dir)
