"""SLA reports at scale: a month of 30 s probe results for 1,000 endpoints (86.4 M rows),
ingested in batches, rolled up by the real rollup job, then all 1,000 monthly statements.

Steps, on a fresh database (SQLite file in a temporary directory, or ``--postgres URL``):

1. Registry: ``--endpoints``/2 operators (portal + GetBalance probes each), time zones
   cycling through UTC, Asia/Kolkata (+05:30), Australia/Adelaide (+10:30), Asia/Kathmandu
   (+05:45), America/New_York and Europe/Paris, so most months start off the hour.
2. Ingest November 2026 (UTC) at ``30 / --scale`` s cadence, in time order, chunks of
   ``--chunk-minutes``: PostgreSQL ``COPY`` (asyncpg ``copy_records_to_table``); SQLite
   ``executemany`` in one transaction per chunk. Rows/s counts the inserts only.
3. After each chunk the real rollup job (``sla.service.roll_up``, batches of
   ``--rollup-batch`` rows) catches up, with the clock at the end of the month (a
   backfill: minute rollups only for the last 48 h). Rollup rows/s counts the job only.
   Then one simulated hour in "live" mode (clock following the data, every 15 s) gives
   the steady-state cost per 15-s rollup run.
4. All monthly statements (``sla.service.report_all``, period 2026-11 in each operator's
   zone), ``--repeat`` times. Then for ``--subset`` endpoints: statements from rollups vs
   the brute-force raw scan of ``issuance.from_evidence`` (the in-process baseline), with
   a check that both give the same figures.

Prints figures; asserts nothing about time. Run from the repository root::

    .venv/bin/python -m bench.sla [--quick] [--scale 1.0] [--endpoints 1000]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/mp_sla_bench] [--json PATH]

``--postgres`` drops and recreates the ``public`` schema of that database (created if
missing): its name must contain ``bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench._sla_data import (
    MONTH_END,
    MONTH_START,
    Generator,
    PgLoader,
    Samples,
    SqliteLoader,
    fresh_database,
    seed,
)
from mobileplans.db import migrate
from mobileplans.db.engine import is_sqlite, make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.sla import issuance, repository, service
from mobileplans.domains.sla.periods import parse_period
from mobileplans.domains.sla.policy import SlaPolicy


@dataclass
class Figures:
    database: str
    endpoints: int
    interval_seconds: float
    rows: int = 0
    ingest_seconds: float = 0.0
    ingest_rows_per_s: float = 0.0
    rollup_seconds: float = 0.0
    rollup_rows_per_s: float = 0.0
    rollup_rows_stored: dict[str, int] = field(default_factory=dict)
    live_rollup_ms_per_run: float = 0.0
    live_rollup_runs: int = 0
    report_statements: int = 0
    report_seconds: list[float] = field(default_factory=list)
    report_rollup_rows: dict[str, int] = field(default_factory=dict)
    report_raw_rows: int = 0
    subset: int = 0
    subset_rollup_seconds: float = 0.0
    subset_raw_seconds: float = 0.0
    subset_raw_rows: int = 0
    subset_ratio: float = 0.0
    subset_identical: bool = False
    database_bytes: int = 0
    wall_seconds: float = 0.0
    load_average: list[float] = field(default_factory=list)
    """1-minute load average at the start and the end (the machine may be shared)."""


# --- phases ----------------------------------------------------------------------------


async def roll_up(
    sessions: async_sessionmaker[AsyncSession], now: datetime, policy: SlaPolicy
) -> int:
    total = 0
    for _ in range(1_000_000):
        async with session_scope(sessions) as session:
            done = await service.roll_up(session, now=now, policy=policy)
        total += done
        if done < policy.rollup_batch_rows:
            return total
    raise RuntimeError("rollup did not catch up")


async def ingest(
    sessions: async_sessionmaker[AsyncSession],
    loader: PgLoader | SqliteLoader,
    generator: Generator,
    args: argparse.Namespace,
    figures: Figures,
    progress: Callable[[str], None],
) -> None:
    """Load the month chunk by chunk; after each chunk the rollup job catches up."""
    interval = timedelta(seconds=figures.interval_seconds)
    slots = int((MONTH_END - MONTH_START) / interval)
    chunk = max(1, int(timedelta(minutes=args.chunk_minutes) / interval))
    policy = SlaPolicy(rollup_batch_rows=args.rollup_batch, settle_seconds=0)
    backfill_now = MONTH_END + timedelta(minutes=5)
    live_from = slots - int(timedelta(hours=1) / interval) if args.live else slots
    step = 0
    while step < live_from:
        rows: list[tuple[Any, ...]] = []
        for k in range(step, min(step + chunk, live_from)):
            rows.extend(generator.slot(MONTH_START + k * interval, k))
        started = time.perf_counter()
        await loader.load(rows)
        figures.ingest_seconds += time.perf_counter() - started
        figures.rows += len(rows)
        started = time.perf_counter()
        await roll_up(sessions, backfill_now, policy)
        figures.rollup_seconds += time.perf_counter() - started
        step = min(step + chunk, live_from)
        if (step // chunk) % max(1, int(1440 / args.chunk_minutes)) == 0:
            progress(
                f"{figures.rows:,} rows ({step / slots:.0%}); ingest "
                f"{figures.ingest_seconds:.0f} s, rollup {figures.rollup_seconds:.0f} s"
            )
    await live_hour(sessions, loader, generator, step, slots, figures)


async def live_hour(
    sessions: async_sessionmaker[AsyncSession],
    loader: PgLoader | SqliteLoader,
    generator: Generator,
    first: int,
    slots: int,
    figures: Figures,
) -> None:
    """The last hour as the worker sees it: rows arrive, the job runs every 15 s."""
    interval = timedelta(seconds=figures.interval_seconds)
    policy = SlaPolicy(settle_seconds=0)
    runs: list[float] = []
    tick = MONTH_START + first * interval
    step = first
    while step < slots:
        tick += timedelta(seconds=15)
        rows: list[tuple[Any, ...]] = []
        while step < slots and MONTH_START + step * interval < tick:
            rows.extend(generator.slot(MONTH_START + step * interval, step))
            step += 1
        if rows:
            started = time.perf_counter()
            await loader.load(rows)
            figures.ingest_seconds += time.perf_counter() - started
            figures.rows += len(rows)
        started = time.perf_counter()
        await roll_up(sessions, tick + timedelta(seconds=5), policy)
        elapsed = time.perf_counter() - started
        runs.append(elapsed)
        figures.rollup_seconds += elapsed
    figures.live_rollup_runs = len(runs)
    figures.live_rollup_ms_per_run = round(statistics.mean(runs) * 1000, 1) if runs else 0.0


async def report(
    sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace, figures: Figures
) -> None:
    for _ in range(args.repeat):
        started = time.perf_counter()
        async with session_scope(sessions) as session:
            result = await service.report_all(session, period="2026-11")
        figures.report_seconds.append(round(time.perf_counter() - started, 3))
    figures.report_statements = len(result.statements)
    for item in result.statements:
        for grain, n in item.source.rollup_rows.items():
            figures.report_rollup_rows[grain] = figures.report_rollup_rows.get(grain, 0) + n
        figures.report_raw_rows += item.source.raw_rows


async def baseline(
    sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace, figures: Figures
) -> None:
    """Rollups vs a raw scan for the first ``--subset`` probes."""
    async with session_scope(sessions) as session:
        zones = {op.id: op.timezone for op in await registry_service.list_operators(session)}
        probes = list(await repository.probes(session, environment="production"))
        chosen = probes[: args.subset]
        inputs = await service.statement_inputs(
            session,
            chosen,
            lambda op: parse_period("2026-11", start=None, end=None, timezone=zones[op]),
        )
    started = time.perf_counter()
    async with session_scope(sessions) as session:
        fast = await service.compute(session, inputs)
    figures.subset_rollup_seconds = round(time.perf_counter() - started, 4)
    started = time.perf_counter()
    slow = []
    async with session_scope(sessions) as session:
        for inp in inputs:
            body, hasher, _late = await issuance.from_evidence(session, inp)
            slow.append(body)
            figures.subset_raw_rows += hasher.rows
    figures.subset_raw_seconds = round(time.perf_counter() - started, 3)
    figures.subset = len(inputs)
    figures.subset_ratio = round(figures.subset_raw_seconds / figures.subset_rollup_seconds, 1)
    figures.subset_identical = all(
        a.statement.figures() == b.figures() for a, b in zip(fast, slow, strict=True)
    )


async def measure_size(engine: AsyncEngine, url: str, figures: Figures) -> None:
    async with engine.connect() as conn:
        counts = await conn.execute(
            text("SELECT granularity, count(*) FROM probe_rollups GROUP BY granularity")
        )
        figures.rollup_rows_stored = {g: int(n) for g, n in counts}
        if is_sqlite(url):
            path = Path(make_url(url).database or "")
            figures.database_bytes = sum(
                p.stat().st_size for p in path.parent.glob(path.name + "*")
            )
        else:
            figures.database_bytes = int(
                await conn.scalar(text("SELECT pg_database_size(current_database())")) or 0
            )


async def load_month(
    url: str, workdir: Path, args: argparse.Namespace, figures: Figures, wall: float
) -> None:
    """Steps 1-3: fresh database, registry and probes, ingest and rollups."""
    await fresh_database(url)
    engine = make_engine(url, process_name="bench")
    await migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    probes = await seed(sessions, args.endpoints)
    loader: PgLoader | SqliteLoader = (
        PgLoader(url) if args.postgres else SqliteLoader(str(workdir / "sla.db"))
    )

    def progress(message: str) -> None:
        print(f"  [{time.perf_counter() - wall:7.1f} s] {message}", file=sys.stderr, flush=True)

    generator = Generator(probes, Samples(), as_text=not args.postgres)
    try:
        await ingest(sessions, loader, generator, args, figures, progress)
    finally:
        await loader.close()
    figures.ingest_rows_per_s = round(figures.rows / figures.ingest_seconds)
    figures.rollup_rows_per_s = round(figures.rows / figures.rollup_seconds)
    if args.postgres:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE probe_rollups"))
            await conn.execute(text("ANALYZE probe_results"))
    await engine.dispose()


async def run(args: argparse.Namespace) -> Figures:
    if args.sqlite_file:
        workdir, url = args.sqlite_file.parent, f"sqlite+aiosqlite:///{args.sqlite_file}"
    elif args.postgres:
        workdir, url = Path(tempfile.gettempdir()), args.postgres
    else:
        workdir = Path(tempfile.mkdtemp(prefix="mp-sla-bench-", dir=args.workdir))
        url = f"sqlite+aiosqlite:///{workdir / 'sla.db'}"
    figures = Figures(
        database="postgresql" if args.postgres else "sqlite",
        endpoints=args.endpoints,
        interval_seconds=30 / args.scale,
    )
    wall = time.perf_counter()
    figures.load_average.append(os.getloadavg()[0])
    if not args.report_only:
        await load_month(url, workdir, args, figures, wall)
    engine = make_engine(url, process_name="bench")
    sessions = make_sessionmaker(engine)
    print("  reports", file=sys.stderr, flush=True)
    await report(sessions, args, figures)
    print("  raw-scan baseline", file=sys.stderr, flush=True)
    await baseline(sessions, args, figures)
    await measure_size(engine, url, figures)
    await engine.dispose()
    figures.wall_seconds = round(time.perf_counter() - wall, 1)
    figures.load_average.append(os.getloadavg()[0])
    keep = args.keep or args.postgres or args.sqlite_file
    args.cleanup = None if keep else workdir
    return figures


def show(figures: Figures) -> None:
    rows = [
        ("database", figures.database),
        ("endpoints x cadence", f"{figures.endpoints} x {figures.interval_seconds:g} s"),
        ("probe rows ingested", f"{figures.rows:,}"),
        ("ingest", f"{figures.ingest_rows_per_s:,} rows/s ({figures.ingest_seconds:.0f} s)"),
        ("rollup job", f"{figures.rollup_rows_per_s:,} rows/s ({figures.rollup_seconds:.0f} s)"),
        (
            "rollup, live 15-s runs",
            f"{figures.live_rollup_ms_per_run} ms per run ({figures.live_rollup_runs} runs)",
        ),
        ("rollup rows stored", str(figures.rollup_rows_stored)),
        (
            "monthly statements",
            f"{figures.report_statements} in "
            f"{', '.join(f'{s:.2f}' for s in figures.report_seconds)} s",
        ),
        ("  read from", f"rollups {figures.report_rollup_rows}, raw {figures.report_raw_rows:,}"),
        (
            "raw-scan baseline",
            f"{figures.subset} statements: rollups "
            f"{figures.subset_rollup_seconds:.3f} s, raw scan "
            f"{figures.subset_raw_seconds:.2f} s over "
            f"{figures.subset_raw_rows:,} rows = {figures.subset_ratio}x; "
            f"identical figures: {figures.subset_identical}",
        ),
        ("database size", f"{figures.database_bytes / 1e9:.2f} GB"),
        ("wall time", f"{figures.wall_seconds:.0f} s"),
        ("load average (1 min)", " -> ".join(f"{v:.1f}" for v in figures.load_average)),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of the 30 s cadence's rows (0.1: one result per 300 s)",
    )
    parser.add_argument("--chunk-minutes", type=float, default=240.0)
    parser.add_argument("--rollup-batch", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="report runs")
    parser.add_argument("--subset", type=int, default=20, help="endpoints for the raw baseline")
    parser.add_argument("--postgres", help="scratch PostgreSQL URL (name contains 'bench')")
    parser.add_argument("--workdir", help="where the SQLite file goes (default: /tmp)")
    parser.add_argument(
        "--no-live", dest="live", action="store_false", help="skip the simulated live hour"
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="step 4 only, on a database loaded before (--postgres URL or --sqlite-file)",
    )
    parser.add_argument("--sqlite-file", type=Path, help="an existing SQLite file (--keep)")
    parser.add_argument("--quick", action="store_true", help="50 endpoints, 1/20 rows: smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.endpoints, args.scale, args.repeat, args.subset = 50, 0.05, 1, 5
    if not 0 < args.scale <= 1:
        parser.error("--scale is in (0, 1]")
    if args.report_only and not (args.postgres or args.sqlite_file):
        parser.error("--report-only needs --postgres or --sqlite-file")
    figures = asyncio.run(run(args))
    if args.cleanup is not None:
        shutil.rmtree(args.cleanup)
    show(figures)
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2))
    print(f"pid {os.getpid()} done", file=sys.stderr)


if __name__ == "__main__":
    main()
