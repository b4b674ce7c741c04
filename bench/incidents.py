"""The incident engine's pass at scale: 50,000 probes, CPU per 5-s pass, against the old pass.

On a fresh database (SQLite file in a temporary directory, or ``--postgres URL``):

1. Registry and probes: ``--probes``/2 operators, each a portal and a GetBalance probe at
   30 s (``bench._sla_data.seed``, the SLA bench's fixture).
2. ``--minutes`` of results (default 10: twice the 5-min window), one per probe per 30 s,
   loaded in bulk (PostgreSQL ``COPY``, SQLite ``executemany``). Mostly green: the
   background noise of the SLA bench (0.2 % of runs fail, at random) plus
   ``--down`` operators whose GetBalance fails every run (hard down: Sev 1) and
   ``--flapping`` operators whose GetBalance fails 3 runs in 10 (Sev 3). The probes'
   ``consecutive_failures`` agree with their results.
3. The engine (:class:`mobileplans.domains.incident.engine.Engine`, one instance as in the
   worker) runs ``--passes`` passes, the clock 5 s further each time, each in its own
   transaction as the worker's job does. Pass 1 opens the incidents (and queues their
   mails); later passes are the steady state.
4. Baseline, same run and database: the old pass's reads (every enabled probe's state,
   every failed result of the window by a scan of the window, every operator's profile,
   one open-incident lookup and one assessment per scope) for ``--baseline-passes``.

Per pass: this process's CPU (``time.process_time``: for SQLite that includes the
database's work, it runs in-process) and, on PostgreSQL, the CPU of the server backend
that served the pass (``/proc/<pid>/stat``, 10 ms ticks: summed over the passes, then
divided). Also CPU other processes took meanwhile (the machine may be shared).

Prints figures; asserts nothing about time. Run from the repository root::

    .venv/bin/python -m bench.incidents [--probes 50000] [--passes 20]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/mp_incident_bench]

``--postgres`` drops and recreates the ``public`` schema of that database (created if
missing): its name must contain ``bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import _procs
from bench._sla_data import PgLoader, Samples, SqliteLoader, fresh_database, seed
from mobileplans.db import migrate
from mobileplans.db.engine import is_sqlite, make_engine
from mobileplans.db.models import Incident, Probe, ProbeResult
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.incident import lifecycle
from mobileplans.domains.incident import repository as incident_repository
from mobileplans.domains.incident.assess import EndpointHealth, ScopeEvidence, Thresholds, assess
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.profiles import all_profiles

INTERVAL = 30
FAILED = ("http_error", "timeout", "connect_error", "tls_error", "bad_body")
Sessions = async_sessionmaker[AsyncSession]


# --- data --------------------------------------------------------------------------------


def plan_failures(probes: list[Probe], down: int, flapping: int) -> dict[int, str]:
    """``{probe_id: pattern}`` for the GetBalance probes of the chosen operators."""
    balance = [p for p in probes if p.kind == "getbalance"]
    chosen = random.Random(7).sample(balance, down + flapping)
    return {p.id: ("down" if i < down else "flap") for i, p in enumerate(chosen)}


def result_rows(
    probes: list[Probe], end: datetime, minutes: int, plan: dict[int, str], as_text: bool
) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    """Rows of ``minutes`` of 30-s slots ending at ``end``; consecutive failures per probe."""
    samples, slots = Samples(), minutes * 60 // INTERVAL
    rng, rows = random.Random(3), []
    streak: defaultdict[int, int] = defaultdict(int)
    jitter = [timedelta(milliseconds=rng.randrange(0, 3000)) for _ in probes]
    for step in range(slots):
        slot = end - timedelta(seconds=INTERVAL * (slots - step))
        for i, p in enumerate(probes):
            latency, outcome, status = samples.values[(step * 7919 + i * 104729) % Samples.SIZE]
            pattern = plan.get(p.id)
            if pattern == "down" or (pattern == "flap" and step % 10 in (2, 5, 8)):
                latency, outcome, status = 5000.0, "timeout", None
            streak[p.id] = streak[p.id] + 1 if outcome in FAILED else 0
            start: Any = slot + jitter[i]
            due: Any = slot
            if as_text:
                due = slot.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
                start = start.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            row = (p.id, p.operator_id, p.environment, p.kind, due, start, latency, outcome)
            rows.append((*row, status, "bench"))
    return rows, {pid: n for pid, n in streak.items() if n}


async def load(
    url: str, sessions: Sessions, rows: list[tuple[Any, ...]], streaks: dict[int, int]
) -> None:
    loader: PgLoader | SqliteLoader
    loader = SqliteLoader(url.split("///", 1)[1]) if is_sqlite(url) else PgLoader(url)
    for i in range(0, len(rows), 100_000):
        await loader.load(rows[i : i + 100_000])
    await loader.close()
    async with session_scope(sessions) as session:
        for pid, n in streaks.items():
            await session.execute(
                update(Probe).where(Probe.id == pid).values(consecutive_failures=n)
            )
    if not is_sqlite(url):
        async with session_scope(sessions) as session:
            await session.execute(text("ANALYZE"))


# --- the old pass (baseline) -------------------------------------------------------------


async def old_pass(session: AsyncSession, now: datetime, t: Thresholds) -> int:
    """The reads and assessments of the pass before issue #8 (no writes: the incidents it
    would open are open already). Returns the scopes it assessed."""
    table = Probe.__table__
    results = ProbeResult.__table__
    profiles = await all_profiles(session)
    probes = (
        await session.execute(
            select(
                table.c.id, table.c.operator_id, table.c.environment, table.c.kind,
                table.c.interval_seconds, table.c.consecutive_failures,
            ).where(table.c.enabled.is_(True))
        )
    ).all()  # fmt: skip
    since = now - timedelta(seconds=t.window_seconds)
    failing: dict[int, int] = dict(
        (
            await session.execute(
                select(results.c.probe_id, func.count())
                .where(results.c.started_at >= since, results.c.outcome.in_(FAILED))
                .group_by(results.c.probe_id)
            )
        ).all()
    )
    totals: dict[int, int] = dict(
        (
            await session.execute(
                select(results.c.probe_id, func.count())
                .where(results.c.started_at >= since, results.c.probe_id.in_(list(failing)))
                .group_by(results.c.probe_id)
            )
        ).all()
    )
    scopes: dict[tuple[str, str], list[EndpointHealth]] = defaultdict(list)
    for p in probes:
        if p.operator_id in profiles:
            n = failing.get(p.id, 0)
            scopes[(p.operator_id, p.environment)].append(
                EndpointHealth(
                    p.id, p.kind, p.interval_seconds, p.consecutive_failures,
                    totals.get(p.id, n) if n else 0, n,
                )
            )  # fmt: skip
    for (op, env), endpoints in sorted(scopes.items()):
        await incident_repository.get_open(
            session, lifecycle.open_key("partner", op, env, "detected")
        )
        assess(profiles[op].policy, ScopeEvidence(op, env, tuple(endpoints)), t)
    return len(scopes)


# --- measurement -------------------------------------------------------------------------


async def _backend_pid(session: AsyncSession) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def measure(
    sessions: Sessions, passes: int, start: datetime, body: Callable[..., Awaitable[Any]]
) -> dict[str, Any]:
    """Run ``body(session, now)`` ``passes`` times; CPU per pass (ms), first and steady."""
    cpu: list[float] = []
    db: list[float | None] = []
    acted: list[int] = []
    last: Any = None
    collections: list[int] = []
    gen2 = [0]

    def count_gen2(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gen2[0] += 1

    gc.callbacks.append(count_gen2)
    meter = _procs.CpuMeter([])
    for i in range(passes):
        now = start + timedelta(seconds=5 * i)
        async with session_scope(sessions) as session:
            pid = await _backend_pid(session)
            db_before = _procs._process_cpu(pid) if pid else 0.0
            before, gen2[0] = time.process_time(), 0
            last = await body(session, now)
        cpu.append((time.process_time() - before) * 1000)
        collections.append(gen2[0])
        db.append((_procs._process_cpu(pid) - db_before) * 1000 if pid else None)
        summary = getattr(last, "opened", None)
        if summary is not None:  # the engine's pass: what it changed
            acted.append(len(last.opened) + len(last.changed) + len(last.resolved))
    other = meter.stop()
    gc.callbacks.remove(count_gen2)
    steady_db = [d for d in db[1:] if d is not None]
    return {
        "passes": passes,
        "first_pass_cpu_ms": round(cpu[0], 1),
        "steady_cpu_ms_median": round(statistics.median(cpu[1:] or cpu), 1),
        "steady_cpu_ms_mean": round(statistics.mean(cpu[1:] or cpu), 1),
        "steady_cpu_ms_max": round(max(cpu[1:] or cpu), 1),
        "db_server_first_pass_ms": db[0],
        # 10 ms ticks: only the mean over the passes means anything
        "db_server_steady_ms_mean": round(statistics.mean(steady_db), 1) if steady_db else None,
        "other_cpu_pct": round(other["other_cpu_pct"], 1),
        "cpu_ms_per_pass": [round(c, 1) for c in cpu],
        "incidents_changed_per_pass": acted or None,
        "full_gc_per_pass": collections,
        "last": last,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = None
    url = args.postgres
    if url is None:
        workdir = tempfile.mkdtemp(prefix="mp-incident-bench-")
        url = f"sqlite+aiosqlite:///{workdir}/bench.db"
    await fresh_database(url)
    engine = make_engine(url, process_name="bench-incidents")
    await migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    try:
        t0 = time.monotonic()
        probes = await seed(sessions, args.probes)
        end = datetime.now(UTC).replace(microsecond=0)
        plan = plan_failures(probes, args.down, args.flapping)
        rows, streaks = result_rows(probes, end, args.minutes, plan, is_sqlite(url))
        await load(url, sessions, rows, streaks)
        loaded, failed = len(rows), sum(1 for r in rows if r[7] in FAILED)
        del rows, probes[:]  # the worker holds no such heap: a full GC would walk it
        gc.collect()
        print(f"loaded {args.probes} probes, {loaded} results in {time.monotonic() - t0:.0f} s")
        t = Thresholds()
        new_engine = Engine(NotifyContext())
        new = await measure(sessions, args.passes, end, lambda s, now: new_engine.evaluate(s, now))
        summary = new.pop("last")
        async with sessions() as session:
            opened = await session.scalar(select(func.count()).select_from(Incident))
        baseline = await measure(
            sessions, args.baseline_passes, end, lambda s, now: old_pass(s, now, t)
        )
        baseline["scopes"] = baseline.pop("last")
        return {
            "database": "sqlite" if is_sqlite(url) else "postgresql",
            "probes": args.probes,
            "results": loaded,
            "failed_results": failed,
            "down_operators": args.down,
            "flapping_operators": args.flapping,
            "incidents_open": opened,
            "last_pass": {"opened": len(summary.opened), "changed": len(summary.changed)},
            "engine": new,
            "baseline_old_pass": baseline,
        }
    finally:
        await engine.dispose()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--probes", type=int, default=50_000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--down", type=int, default=50, help="operators hard down")
    parser.add_argument("--flapping", type=int, default=100, help="operators failing 30 %%")
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--baseline-passes", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    print(json.dumps(figures, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
