"""Synthetic month of probe results for ``bench.sla``: registry, probes, rows, loaders."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.engine import is_sqlite, make_engine
from mobileplans.db.models import Probe
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec, RegistryDocument

MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 12, 1, tzinfo=UTC)
ZONES = (
    "UTC",
    "Asia/Kolkata",
    "Australia/Adelaide",
    "Asia/Kathmandu",
    "America/New_York",
    "Europe/Paris",
)
COLUMNS = (
    "probe_id",
    "operator_id",
    "environment",
    "kind",
    "scheduled_at",
    "started_at",
    "latency_ms",
    "outcome",
    "status_code",
    "worker",
)


# --- synthetic results -----------------------------------------------------------------


class Samples:
    """Pre-drawn outcomes and latencies, cycled (drawing 86 M random numbers costs minutes)."""

    SIZE = 1 << 16

    def __init__(self, seed: int = 42) -> None:
        rng = random.Random(seed)
        self.values: list[tuple[float, str, int | None]] = []
        for _ in range(self.SIZE):
            roll = rng.random()
            if roll < 0.0015:
                self.values.append((5000.0, "timeout", None))
            elif roll < 0.002:
                self.values.append((round(rng.uniform(20, 300), 3), "http_error", 503))
            else:
                latency = round(math.exp(rng.gauss(math.log(110), 0.55)), 3)
                self.values.append((latency, "degraded" if latency > 400 else "ok", 200))


class Generator:
    """Rows of one 30-s slot for every probe, built from per-probe prefixes (cheap)."""

    def __init__(self, probes: list[Probe], samples: Samples, *, as_text: bool) -> None:
        rng = random.Random(1)
        self.prefix = [(p.id, p.operator_id, p.environment, p.kind) for p in probes]
        self.jitter = [timedelta(milliseconds=rng.randrange(0, 3000)) for _ in probes]
        self.offsets = [j * 104729 for j in range(len(probes))]
        self.values = [(*v, "bench") for v in samples.values]
        self.as_text = as_text

    def slot(self, slot: datetime, step: int) -> list[tuple[Any, ...]]:
        values, size, base = self.values, Samples.SIZE, step * 7919
        if self.as_text:  # SQLite: naive UTC text, as SQLAlchemy stores datetimes
            naive = slot.replace(tzinfo=None)
            due = naive.isoformat(sep=" ", timespec="microseconds")
            starts: list[Any] = [
                (naive + j).isoformat(sep=" ", timespec="microseconds") for j in self.jitter
            ]
            scheduled: Any = due
        else:
            starts = [slot + j for j in self.jitter]
            scheduled = slot
        return [
            (*pre, scheduled, start, *values[(base + off) % size])
            for pre, start, off in zip(self.prefix, starts, self.offsets, strict=True)
        ]


# --- loaders ---------------------------------------------------------------------------


class PgLoader:
    def __init__(self, url: str) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.conn: asyncpg.Connection | None = None

    async def load(self, rows: list[tuple[Any, ...]]) -> None:
        if self.conn is None:
            self.conn = await asyncpg.connect(self.dsn)
        await self.conn.copy_records_to_table("probe_results", records=rows, columns=COLUMNS)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class SqliteLoader:
    """Plain sqlite3 in this thread; datetimes as SQLAlchemy stores them (naive UTC text)."""

    SQL = f"INSERT INTO probe_results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 10)})"

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-262144")

    async def load(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany(self.SQL, rows)
        self.db.execute("COMMIT")

    async def close(self) -> None:
        self.db.close()


# --- setup -----------------------------------------------------------------------------


async def fresh_database(url: str) -> None:
    if is_sqlite(url):
        return
    name = make_url(url).database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to wipe {name!r}: the database name must contain 'bench'")
    admin = make_engine(str(make_url(url).set(database="postgres")), process_name="bench")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = make_engine(url, process_name="bench")
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def operator_specs(count: int) -> list[OperatorSpec]:
    specs = []
    for i in range(count):
        op = f"op{i:04d}"
        specs.append(
            OperatorSpec.model_validate(
                {
                    "id": op,
                    "brandName": f"Operator {i}",
                    "countries": ["US"],
                    "timezone": ZONES[i % len(ZONES)],
                    "environments": {
                        "production": {
                            "portalUrl": f"https://portal.{op}.example/mp",
                            "moBaseUrl": f"https://api.{op}.example/v1",
                        }
                    },
                    "iccidRanges": [
                        {
                            "environment": "production",
                            "start": f"89{10000 + i}000000000000",
                            "end": f"89{10000 + i}999999999999",
                        }
                    ],
                }
            )
        )
    return specs


async def seed(sessions: async_sessionmaker[AsyncSession], endpoints: int) -> list[Probe]:
    now = datetime.now(UTC)
    operators = operator_specs(math.ceil(endpoints / 2))
    async with session_scope(sessions) as session:
        await registry_service.import_document(
            session, RegistryDocument(operators=operators), actor="bench", now=now
        )
    probes = [
        Probe(
            operator_id=spec.id,
            environment="production",
            kind=kind,
            target_url=f"https://api.{spec.id}.example/v1",
            interval_seconds=30,
            next_run_at=now,
            created_at=now,
            updated_at=now,
        )
        for spec in operators
        for kind in ("portal", "getbalance")
    ][:endpoints]
    async with session_scope(sessions) as session:
        session.add_all(probes)
    return probes
