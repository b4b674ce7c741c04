"""Activation flows: complete ``first-run-esim`` flows per second, and per-step latency.

Prints figures; asserts nothing about time (benchmarks are never test thresholds).

A real stack (``mobileplans up`` on a fresh SQLite data directory, in its own process
pinned to core 0: broker, operator, SM-DP+ and the worker share that one process) is
driven by the device simulator's own scenario code (HTTP mode) in this process, pinned
to core 1. Each flow is a new PC with a fresh EID that signs up for a fresh account,
buys a prepaid plan, downloads, installs and enables one SM-DP+ profile, registers and
reads its balance through the broker. Every simulated device has its own HTTP clients.

For each concurrency level (1, 10, 50 devices) the devices run flows back to back for
``--duration`` seconds (at most ``--max-flows`` flows); flows in flight at the end are
finished and counted. Reported: completed flows/s, failures with reasons, the flow's
p50/p99 and every step's p50/p99 (the simulator's step timings), the CPU the stack and
the simulator used, and the load average (the machine is shared).

CPU per flow is split: the account's password hash (scrypt, in the stack's hashing
threads) is read from the stack's own counter ``mobileplans_password_hash_seconds_total``
(thread CPU time of each hash, scraped from ``/metrics`` before and after each level);
"outside the hash" is the rest. The stack's idle CPU (worker loops with no flow running)
is measured for ``--idle`` seconds after the warm-up and reported, and also subtracted
pro rata in the "net" column. The bound is the rate one core allows at the measured CPU
per flow (hash included): ``1000 / ms per flow`` flows/s; "of bound" is the achieved rate
over it (on a shared machine it is the share of core 0 the stack got). "req/flow" is
what the stack's apps served during the level (``mobileplans_http_requests_total``): the
devices' requests, the operator's ES2+ calls to the SM-DP+ and its callbacks back, the
worker's probes and one ``/metrics`` read.

Run from the repository root::

    .venv/bin/python -m bench.activation [--quick] [--levels 1,10,50] [--duration 30]
        [--idle S] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from rich.console import Console
from rich.table import Table

from bench import _procs, _stack
from bench._load import percentile
from mobileplans.kit.clock import SystemClock
from mobileplans.simulator.endpoints import Endpoints, load_endpoints
from mobileplans.simulator.runlog import Outcome, ScenarioRun
from mobileplans.simulator.runner import HTTP_TIMEOUT_SECONDS, default_operator, driver_factory
from mobileplans.simulator.runner import run_one as run_scenario
from mobileplans.simulator.scenarios import SCENARIOS

SCENARIO = "first-run-esim"
FLOW_TIME_LIMIT_S = 60.0
GENERATE = ["smdp", "generate", "--operator", "contoso", "--profile-type", "contoso-consumer"]
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)


def log(message: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


@dataclass
class Level:
    """What the devices of one concurrency level did."""

    devices: int
    runs: list[ScenarioRun] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    load_before: dict[str, float] = field(default_factory=dict)
    load_after: dict[str, float] = field(default_factory=dict)
    hash_cpu_s: float = 0.0
    hashes: float = 0.0
    requests: float = 0.0
    lock_waits: float = 0.0
    lock_wait_s: float = 0.0
    idle_cpu_pct: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = [r for r in self.runs if r.outcome is Outcome.PASS]
        elapsed = max(self.ended - self.started, 1e-9)
        flow_ms = sorted(r.ms for r in ok)
        return {
            "devices": self.devices,
            "flows": len(self.runs),
            "ok": len(ok),
            "failed": len(self.runs) - len(ok),
            "elapsed_s": round(elapsed, 2),
            "flows_per_s": len(ok) / elapsed,
            "flow_p50_ms": percentile(flow_ms, 50),
            "flow_p99_ms": percentile(flow_ms, 99),
            "failures": dict(
                Counter(reason(r) for r in self.runs if r.outcome is not Outcome.PASS)
            ),
            "steps": step_stats(ok),
            "client_cpu_pct": self.client_cpu_s / elapsed * 100,
            "server_cpu_pct": self.server_cpu_s / elapsed * 100,
            **self.cpu_split(elapsed, len(ok)),
            "load_before": self.load_before,
            "load_after": self.load_after,
        }

    def cpu_split(self, elapsed: float, ok: int) -> dict[str, Any]:
        """Stack CPU per flow, the password hash's part, the rest, the bound it sets."""
        flows = max(len(self.runs), 1)
        per_flow = self.server_cpu_s / flows * 1000
        hash_ms = self.hash_cpu_s / flows * 1000
        idle_ms = self.idle_cpu_pct / 100 * elapsed / flows * 1000
        bound = 1000 / per_flow if per_flow > 0 else float("nan")
        return {
            "server_cpu_ms_per_flow": per_flow,
            "hash_cpu_ms_per_flow": hash_ms,
            "hashes_per_flow": self.hashes / flows,
            "http_requests_per_flow": self.requests / flows,
            "sqlite_lock_waits_per_flow": self.lock_waits / flows,
            "sqlite_lock_wait_ms_per_flow": self.lock_wait_s / flows * 1000,
            "outside_hash_cpu_ms_per_flow": per_flow - hash_ms,
            "idle_cpu_pct": self.idle_cpu_pct,
            "idle_cpu_ms_per_flow": idle_ms,
            "outside_hash_net_cpu_ms_per_flow": per_flow - hash_ms - idle_ms,
            "bound_flows_per_s": bound,
            "of_bound": (ok / elapsed) / bound if per_flow > 0 else float("nan"),
        }


def reason(run: ScenarioRun) -> str:
    """Why a flow failed: the first failed step and its detail (or the scenario error)."""
    for step in run.steps:
        if step.outcome is Outcome.FAIL:
            return f"{step.name}: {step.detail}"[:160]
    return (run.error or run.skipped or "unknown")[:160]


def step_stats(runs: list[ScenarioRun]) -> dict[str, dict[str, float]]:
    """p50/p99/mean ms per step name, in the order the steps first appear."""
    samples: dict[str, list[float]] = {}
    for run in runs:
        for step in run.steps:
            samples.setdefault(step.name, []).append(step.ms)
    out: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        values.sort()
        out[name] = {
            "n": len(values),
            "p50_ms": percentile(values, 50),
            "p99_ms": percentile(values, 99),
            "mean_ms": sum(values) / len(values),
        }
    return out


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def on_core(core: int) -> Iterator[None]:
    """Pin this process (the simulated devices) to ``core`` for the block, if possible."""
    before = os.sched_getaffinity(0)
    if _procs.can_pin() and core in before:
        os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


async def device(
    endpoints: Endpoints, operator: str, level: Level, deadline: float, budget: list[int]
) -> None:
    """One simulated PC after another (fresh EID, account, profile) until time or budget."""
    scenario = SCENARIOS[SCENARIO]
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        async with (
            httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=endpoints.verify()) as http,
            driver_factory(False, endpoints) as new_driver,
        ):
            run = await run_scenario(
                scenario,
                endpoints,
                operator_id=operator,
                mode="http",
                http=http,
                new_driver=new_driver,
                clock=SystemClock(),
                time_limit=FLOW_TIME_LIMIT_S,
            )
        level.runs.append(run)


HASH_SECONDS = "mobileplans_password_hash_seconds_total"
HASH_COUNT = "mobileplans_password_hashes_total"
REQUESTS = "mobileplans_http_requests_total"
LOCK_WAITS = "mobileplans_sqlite_lock_waits_total"
LOCK_WAIT_SECONDS = "mobileplans_sqlite_lock_wait_seconds_total"
COUNTERS = (HASH_SECONDS, HASH_COUNT, REQUESTS, LOCK_WAITS, LOCK_WAIT_SECONDS)


async def stack_counters(endpoints: Endpoints) -> list[float]:
    """``COUNTERS`` from the stack's ``/metrics`` (one registry for the whole ``up``
    process): the password hashing's CPU seconds and count, the HTTP requests its apps
    served, and the on-loop SQLite driver's lock waits (count, seconds paused)."""
    values = dict.fromkeys(COUNTERS, 0.0)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=endpoints.verify()) as c:
        response = await c.get(f"{endpoints.broker}/metrics")
    response.raise_for_status()
    for line in response.text.splitlines():
        name, _, value = line.rpartition(" ")
        name = name.split("{", 1)[0]
        if name in values:
            values[name] += float(value)
    return [values[name] for name in COUNTERS]


async def idle_cpu_pct(pid: int, seconds: float) -> float:
    """The stack's CPU with no flow running (its worker loops), % of a core."""
    if seconds <= 0:
        return 0.0
    cpu0, started = _procs._process_cpu(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    return (_procs._process_cpu(pid) - cpu0) / (time.perf_counter() - started) * 100


async def run_level(
    endpoints: Endpoints,
    operator: str,
    devices: int,
    duration: float,
    max_flows: int,
    pid: int,
    idle_pct: float = 0.0,
) -> Level:
    level = Level(devices, load_before=_stack.load_average(), idle_cpu_pct=idle_pct)
    budget = [max_flows]
    before = await stack_counters(endpoints)
    cpu0, server0 = _cpu_self(), _procs._process_cpu(pid)
    level.started = time.perf_counter()
    deadline = level.started + duration
    await asyncio.gather(
        *(device(endpoints, operator, level, deadline, budget) for _ in range(devices))
    )
    level.ended = time.perf_counter()
    level.client_cpu_s = _cpu_self() - cpu0
    level.server_cpu_s = _procs._process_cpu(pid) - server0
    level.load_after = _stack.load_average()
    after = await stack_counters(endpoints)
    deltas = [a - b for a, b in zip(after, before, strict=True)]
    level.hash_cpu_s, level.hashes, level.requests, level.lock_waits, level.lock_wait_s = deltas
    return level


async def drive(
    endpoints: Endpoints,
    levels: list[int],
    duration: float,
    max_flows: int,
    pid: int,
    idle_seconds: float,
) -> list[dict[str, Any]]:
    operator = default_operator(endpoints)
    if operator is None:
        raise RuntimeError("endpoints.json names no operator to buy from")
    endpoints = endpoints.for_operator(operator)
    log(f"warm-up: 2 flows ({operator})")
    warm = await run_level(endpoints, operator, 1, FLOW_TIME_LIMIT_S, 2, pid)
    for run in warm.runs:
        if run.failed:
            log(f"[yellow]warm-up flow failed: {reason(run)}[/yellow]")
    idle = await idle_cpu_pct(pid, idle_seconds)
    log(f"stack idle: {idle:.1f} % of a core over {idle_seconds:g} s")
    out = []
    for devices in levels:
        log(f"{devices} concurrent device(s), {duration:g} s (at most {max_flows} flows)")
        level = await run_level(endpoints, operator, devices, duration, max_flows, pid, idle)
        summary = level.summary()
        log(
            f"  {summary['ok']} ok, {summary['failed']} failed, "
            f"{summary['flows_per_s']:.2f} flows/s, {summary['server_cpu_ms_per_flow']:.1f}"
            f" ms CPU/flow of which hash {summary['hash_cpu_ms_per_flow']:.1f}"
        )
        out.append(summary)
    return out


# --- report ------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"


def level_table(results: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{SCENARIO} flows (HTTP mode)", title_justify="left")
    for name in ("devices", "ok", "failed", "flows/s", "flow p50 ms", "flow p99 ms"):
        table.add_column(name, justify="right")
    for name in ("stack CPU %", "devices CPU %", "lock waits/flow (ms)", "load1 before/after"):
        table.add_column(name, justify="right")
    for r in results:
        table.add_row(
            str(r["devices"]),
            str(r["ok"]),
            str(r["failed"]),
            f"{r['flows_per_s']:.2f}",
            _ms(r["flow_p50_ms"]),
            _ms(r["flow_p99_ms"]),
            f"{r['server_cpu_pct']:.0f}",
            f"{r['client_cpu_pct']:.0f}",
            f"{r['sqlite_lock_waits_per_flow']:.1f} ({r['sqlite_lock_wait_ms_per_flow']:.1f})",
            f"{r['load_before']['load1']:.2f} / {r['load_after']['load1']:.2f}",
        )
    return table


def cpu_table(results: list[dict[str, Any]]) -> Table:
    table = Table(
        title="stack CPU per flow (ms) and the bound it sets for one core", title_justify="left"
    )
    for name in ("devices", "req/flow", "total", "password hash", "hashes/flow"):
        table.add_column(name, justify="right")
    for name in ("outside hash", "idle part", "outside hash net", "bound flows/s", "flows/s"):
        table.add_column(name, justify="right")
    for name in ("of bound",):
        table.add_column(name, justify="right")
    for r in results:
        table.add_row(
            str(r["devices"]),
            f"{r['http_requests_per_flow']:.1f}",
            f"{r['server_cpu_ms_per_flow']:.1f}",
            f"{r['hash_cpu_ms_per_flow']:.1f}",
            f"{r['hashes_per_flow']:.2f}",
            f"{r['outside_hash_cpu_ms_per_flow']:.1f}",
            f"{r['idle_cpu_ms_per_flow']:.1f}",
            f"{r['outside_hash_net_cpu_ms_per_flow']:.1f}",
            f"{r['bound_flows_per_s']:.2f}",
            f"{r['flows_per_s']:.2f}",
            f"{r['of_bound'] * 100:.0f} %",
        )
    return table


def steps_table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="per step, successful flows: p50 / p99 ms", title_justify="left")
    table.add_column("step")
    for r in results:
        table.add_column(f"{r['devices']} device(s)", justify="right")
    names: list[str] = []
    for r in results:
        names += [n for n in r["steps"] if n not in names]
    for name in names:
        cells = []
        for r in results:
            s = r["steps"].get(name)
            cells.append(f"{_ms(s['p50_ms'])} / {_ms(s['p99_ms'])}" if s else "-")
        table.add_row(name, *cells)
    return table


def print_report(results: list[dict[str, Any]]) -> None:
    console.print(level_table(results))
    console.print(cpu_table(results))
    console.print(steps_table(results))
    for r in results:
        for why, count in r["failures"].items():
            console.print(f"[red]{r['devices']} device(s): {count} × {why}[/red]")


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per level")
    parser.add_argument("--levels", default="1,10,50", help="concurrent devices per level")
    parser.add_argument("--duration", type=float, help="seconds per level (default 30)")
    parser.add_argument("--max-flows", type=int, default=2000, help="cap per level")
    parser.add_argument("--profiles", type=int, help="SM-DP+ profiles to add first")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds of idle stack CPU to measure first"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    duration = args.duration or (10.0 if args.quick else 30.0)
    profiles = args.profiles or (600 if args.quick else 3000)
    workdir = Path(tempfile.mkdtemp(prefix="bench-activation-"))
    data_dir = workdir / "data"
    servers = _procs.Servers(workdir)
    started = time.time()
    load_start = _stack.load_average()
    try:
        port_base = _stack.free_port_base()
        log(f"mobileplans up --data-dir {data_dir} --port-base {port_base} (core 0)")
        up = _stack.start_up(servers, data_dir, port_base)
        log(f"adding {profiles} SM-DP+ profiles (contoso-consumer)")
        _stack.cli(
            [*GENERATE, "--count", str(profiles)],
            data_dir,
        )
        endpoints = load_endpoints(data_dir / "endpoints.json")
        with on_core(_procs.LOAD_CORE):
            results = asyncio.run(
                drive(endpoints, levels, duration, args.max_flows, up.process.pid, args.idle)
            )
    finally:
        servers.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(results)
    load_end = _stack.load_average()
    document: dict[str, Any] = {
        "benchmark": "activation",
        "scenario": SCENARIO,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_per_level_s": duration,
        "pinned": _procs.can_pin(),
        "load_start": load_start,
        "load_end": load_end,
        "levels": results,
    }
    console.print(
        f"load average start {load_start['load1']:.2f}, end {load_end['load1']:.2f}"
        f" (1 min; {len(os.sched_getaffinity(0))} usable cores)"
    )
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))
        log(f"results written to {args.json}")


if __name__ == "__main__":
    main()
