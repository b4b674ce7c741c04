"""Prober throughput and schedule lateness: N endpoints at a 30 s cadence, one worker process.

For each N: a fresh database (SQLite in a temporary data directory, or ``--postgres URL``)
holds N probes (N/2 operators x portal + GetBalance, 30 s interval, 5 s timeout), all
aimed at a bare asyncio/uvloop HTTP server (``bench._probe_target``, pinned to core 0).
One ``mobileplans worker --no-sync --no-jobs`` process (pinned to core 1) runs them. After
a warm-up, a measurement window of ``--duration`` seconds gives, from ``probe_results``:

- achieved probes/s (results whose slot is in the window / window) against the demand N/30;
- schedule lateness p50/p99 (``started_at - scheduled_at``), and slots with no result;
- measured probe latency p50/p99 (the target answers in ~0.1 ms: the rest is the prober);
- the worker's CPU (``/proc/<pid>/stat`` at the window's ends): % of a core, µs per probe;
- CPU other processes took meanwhile (the machine may be shared: figures are then noisy).

Prints figures and ratios; asserts nothing about time. Run from the repository root::

    .venv/bin/python -m bench.prober [--quick] [--sizes 1000,10000,50000] [--duration 60]
        [--postgres postgresql+asyncpg://.../mp_probe_bench] [--wait-quiet 600] [--json PATH]

``--postgres`` drops and recreates the ``public`` schema of that database: its name must
contain ``bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from bench import _procs
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.scheduler import slot_at_or_after
from mobileplans.domains.probe.schemas import ProbeDefinition, ProbeKindName, ProbeSettings

ROOT = Path(__file__).resolve().parent.parent
INTERVAL = 30
TICK = os.sysconf("SC_CLK_TCK")
console = Console(width=200)


@dataclass
class SizeResult:
    endpoints: int
    demand_per_s: float
    achieved_per_s: float
    results_in_window: int
    slots_without_result: int
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    outcomes: dict[str, int]
    worker_cpu_pct: float
    worker_cpu_us_per_probe: float
    target_cpu_pct: float
    worker_rss_mb: float
    other_cpu_pct: float
    window_s: float
    seed_s: float
    store: str


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def process_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def definitions(count: int, port: int) -> list[ProbeDefinition]:
    base = f"http://127.0.0.1:{port}"
    out = []
    for i in range(count):
        operator = f"bench-{i // 2:05d}"
        if i % 2 == 0:
            url = f"{base}/{operator}/portal?market=US&location=US"
            out.append(ProbeDefinition(operator, "production", ProbeKindName.PORTAL, url))
        else:
            sim = "iccid%3A8901999000000000001"
            url = f"{base}/{operator}/v1/sims/{sim}/balances?fieldsTemplate=basic"
            out.append(ProbeDefinition(operator, "production", ProbeKindName.GETBALANCE, url))
    return out


async def prepare(url: str, count: int, port: int, first_slot_after: datetime) -> None:
    """Fresh schema, then ``count`` probes whose first slots all lie after ``first_slot_after``."""
    engine = make_engine(url, process_name="bench-prober")
    try:
        if not url.startswith("sqlite"):
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        defs = definitions(count, port)
        settings = ProbeSettings(interval_seconds=INTERVAL, timeout_seconds=5.0)
        for start in range(0, len(defs), 5000):
            async with session_scope(sessions) as session:
                await probe_service.add_definitions(
                    session, defs[start : start + 5000], settings=settings, now=first_slot_after
                )
    finally:
        await engine.dispose()


async def collect(url: str, start: datetime, end: datetime) -> tuple[list[Any], int]:
    """Results whose slot lies in [start, end), and how many due slots there have none."""
    engine = make_engine(url, process_name="bench-prober")
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(
                        ProbeResult.probe_id,
                        ProbeResult.scheduled_at,
                        ProbeResult.started_at,
                        ProbeResult.latency_ms,
                        ProbeResult.outcome,
                    ).where(ProbeResult.scheduled_at >= start, ProbeResult.scheduled_at < end)
                )
            ).all()
            probes = (
                await connection.execute(select(Probe.id, Probe.interval_seconds, Probe.jitter_ms))
            ).all()
    finally:
        await engine.dispose()
    stored = {(r.probe_id, r.scheduled_at) for r in rows}
    missing = 0
    for probe in probes:
        slot = slot_at_or_after(start, probe.interval_seconds, probe.jitter_ms)
        while slot < end:
            missing += (probe.id, slot) not in stored
            slot += timedelta(seconds=probe.interval_seconds)
    return list(rows), missing


class Worker:
    """``mobileplans worker`` in its own session (process group), pinned to the load core."""

    def __init__(self, data_dir: Path, url: str | None, log_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MP_")}
        if url is not None:
            env["MP_DATABASE_URL"] = url
        command = [
            sys.executable,
            "-m",
            "mobileplans.cli.main",
            "worker",
            "--data-dir",
            str(data_dir),
            "--worker-id",
            "bench",
            "--no-sync",
            "--no-jobs",
        ]
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            _procs.pinned(command, _procs.LOAD_CORE),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )

    def wait_running(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-2000:]}")
            if b" running" in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise TimeoutError("worker did not start")

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode


def sleep_until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


@dataclass
class Window:
    """What the measurement window saw from outside the worker."""

    start: datetime
    end: datetime
    seconds: float
    worker_cpu: float
    target_cpu: float
    worker_rss_mb: float
    other_cpu_pct: float
    seed_s: float


def measure(count: int, args: argparse.Namespace, workdir: Path, url: str) -> Window:
    """Seed, start the target and the worker, measure one window, stop everything."""
    servers = _procs.Servers(workdir)
    worker: Worker | None = None
    try:
        port = _procs.free_port()
        target = servers.start(
            "target", [sys.executable, "-m", "bench._probe_target", "--port", str(port)], port
        )
        servers.wait_ready(target, "/", timeout=30)
        seed_started = time.monotonic()
        first_slots = datetime.now(UTC) + timedelta(seconds=15 + count / 4000)
        asyncio.run(prepare(url, count, port, first_slots))
        seed_s = time.monotonic() - seed_started
        worker = Worker(workdir / f"n{count}", args.postgres, workdir / f"worker-{count}.log")
        worker.wait_running()
        start = max(datetime.now(UTC), first_slots) + timedelta(seconds=args.warmup)
        sleep_until(start)
        pids = (worker.process.pid, target.process.pid)
        meter = _procs.CpuMeter(list(pids))
        cpu0, t0 = [process_cpu(pid) for pid in pids], time.monotonic()
        time.sleep(args.duration)
        elapsed = time.monotonic() - t0
        cpu1 = [process_cpu(pid) for pid in pids]
        rss, noise = process_rss_mb(worker.process.pid), meter.stop()
        time.sleep(7)  # let the window's last runs finish and be written
        code, worker = worker.stop(), None
        if code != 0:
            raise RuntimeError(f"worker exited with {code}")
    finally:
        if worker is not None:
            worker.stop()
        servers.stop_all()
    return Window(
        start=start,
        end=start + timedelta(seconds=elapsed),
        seconds=elapsed,
        worker_cpu=cpu1[0] - cpu0[0],
        target_cpu=cpu1[1] - cpu0[1],
        worker_rss_mb=rss,
        other_cpu_pct=noise["other_cpu_pct"] + noise["steal_pct"],
        seed_s=seed_s,
    )


def run_size(count: int, args: argparse.Namespace, workdir: Path) -> SizeResult:
    (workdir / f"n{count}").mkdir()
    url = args.postgres or f"sqlite+aiosqlite:///{workdir / f'n{count}' / 'mobileplans.db'}"
    window = measure(count, args, workdir, url)
    rows, missing = asyncio.run(collect(url, window.start, window.end))
    lateness = [(r.started_at - r.scheduled_at).total_seconds() * 1000 for r in rows]
    latency = [float(r.latency_ms) for r in rows]
    outcomes: dict[str, int] = {}
    for r in rows:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return SizeResult(
        endpoints=count,
        demand_per_s=count / INTERVAL,
        achieved_per_s=len(rows) / window.seconds,
        results_in_window=len(rows),
        slots_without_result=missing,
        lateness_p50_ms=percentile(lateness, 0.50),
        lateness_p99_ms=percentile(lateness, 0.99),
        lateness_max_ms=max(lateness, default=float("nan")),
        latency_p50_ms=percentile(latency, 0.50),
        latency_p99_ms=percentile(latency, 0.99),
        outcomes=outcomes,
        worker_cpu_pct=window.worker_cpu / window.seconds * 100,
        worker_cpu_us_per_probe=window.worker_cpu / max(1, len(rows)) * 1e6,
        target_cpu_pct=window.target_cpu / window.seconds * 100,
        worker_rss_mb=window.worker_rss_mb,
        other_cpu_pct=window.other_cpu_pct,
        window_s=window.seconds,
        seed_s=window.seed_s,
        store="postgresql" if args.postgres else "sqlite",
    )


def show(results: list[SizeResult]) -> None:
    table = Table(title=f"Prober: one worker process, {INTERVAL} s cadence")
    for column in (
        "store",
        "endpoints",
        "demand/s",
        "achieved/s",
        "achieved/demand",
        "lateness p50 / p99 / max ms",
        "latency p50 / p99 ms",
        "worker CPU %",
        "CPU µs/probe",
        "probes/s per core",
        "RSS MB",
        "other CPU %",
    ):
        table.add_column(column, justify="right")
    for r in results:
        per_core = r.achieved_per_s / max(r.worker_cpu_pct / 100, 1e-9)
        table.add_row(
            r.store,
            f"{r.endpoints:,}",
            f"{r.demand_per_s:,.0f}",
            f"{r.achieved_per_s:,.0f}",
            f"{r.achieved_per_s / r.demand_per_s:.3f}",
            f"{r.lateness_p50_ms:.1f} / {r.lateness_p99_ms:.1f} / {r.lateness_max_ms:.0f}",
            f"{r.latency_p50_ms:.2f} / {r.latency_p99_ms:.2f}",
            f"{r.worker_cpu_pct:.0f}",
            f"{r.worker_cpu_us_per_probe:.0f}",
            f"{per_core:,.0f}",
            f"{r.worker_rss_mb:.0f}",
            f"{r.other_cpu_pct:.0f}",
        )
    console.print(table)
    for r in results:
        bad = {k: v for k, v in r.outcomes.items() if k != "ok"}
        console.print(
            f"N={r.endpoints:,}: {r.results_in_window:,} results in {r.window_s:.0f} s, "
            f"{r.slots_without_result} slots without a result, outcomes other than ok: {bad}; "
            f"vs blackbox_exporter's ~1,000 probes/s per core: "
            f"{r.achieved_per_s / max(r.worker_cpu_pct / 100, 1e-9) / 1000:.1f}x; "
            f"vs Uptime Kuma's ~700 monitors: {r.endpoints / 700:.0f}x the monitors"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--duration", type=float, default=60.0, help="measurement window, s")
    parser.add_argument(
        "--warmup", type=float, default=35.0, help="seconds before the window (> one cycle)"
    )
    parser.add_argument("--postgres", help="a scratch PostgreSQL URL (name contains 'bench')")
    parser.add_argument("--quick", action="store_true", help="N=500, 20 s: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each N, wait up to this long for other work to use < 25%% of a core",
    )
    args = parser.parse_args()
    if args.postgres and "bench" not in args.postgres.rsplit("/", 1)[-1]:
        parser.error("--postgres must name a scratch database whose name contains 'bench'")
    if args.quick:
        args.sizes, args.duration, args.warmup = "500", 20.0, 5.0
    sizes = [int(s) for s in args.sizes.split(",")]
    console.print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"pinning {'on' if _procs.can_pin() else 'off'}; python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="mp-prober-") as tmp:
        for count in sizes:
            if args.wait_quiet:
                busy = _procs.wait_quiet(args.wait_quiet, 25.0)
                console.print(f"other work before N = {count:,}: {busy:.0f}% of a core")
            console.print(f"[bold]N = {count:,}[/bold] ...")
            results.append(run_size(count, args, Path(tmp)))
            show(results[-1:])
    show(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
