"""ICCID resolution of the broker: in-process lookups/s and HTTP ``GET /v1/sims/{iccid}``.

Prints figures; asserts nothing about time (benchmarks are never test thresholds).

1. In process, on ``--ranges`` non-overlapping 19-digit ranges over ``--operators``
   operators in "production": ``IccidIndex.resolve`` per second (target >= 1,000,000/s)
   and the request-path function ``catalog.service.sim_record`` per second.
2. Over loopback: the real broker (``mobileplans serve broker`` on a fresh SQLite data
   directory seeded with the same ranges) against a bare ASGI app returning the same
   bytes, both under uvicorn on core 0, wrk on core 1 (target broker/bare >= 40%);
   then an open-loop 1,000 requests/s run (target p99 < 10 ms). Diagnostic servers
   (skip with ``--no-extras``): the broker with its fast path off, and the bare app
   on the stdlib asyncio loop.

Run from the repository root::

    .venv/bin/python -m bench.resolve [--quick] [--ranges N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import yaml
from rich.console import Console
from rich.table import Table
from stdnum import luhn

from bench import _data, _procs
from mobileplans.domains.catalog.service import sim_record
from mobileplans.domains.operator_registry.iccid_index import IccidIndex, RangeRef
from mobileplans.domains.operator_registry.schemas import OperatorSpec, RegistryDocument
from mobileplans.domains.operator_registry.snapshot import RegistrySnapshot, build_snapshot
from mobileplans.errors import NotFound

ROOT = Path(__file__).resolve().parent.parent
ENV = _data.ENVIRONMENT
TARGET_RESOLVE_RPS = 1_000_000
TARGET_RATIO = 0.40
TARGET_OPEN_P99_MS = 10.0
DISTURBED_PCT = 10.0  # other processes + steal, % of one core, above which a run is redone
RETRY_WAIT_S = 15.0  # before redoing a disturbed run, wait at most this long for quiet
console = Console(width=None if sys.stdout.isatty() else 130)
err = Console(stderr=True)


@dataclass(frozen=True)
class Profile:
    """Durations and repetitions; ``--quick`` shrinks all of them."""

    inproc_reps: int
    inproc_budget_s: float
    wrk_warmup_s: float
    wrk_duration_s: float
    wrk_reps: int
    open_rate: float
    open_duration_s: float
    open_reps: int


FULL = Profile(15, 60.0, 2.0, 8.0, 3, 1000.0, 10.0, 3)
QUICK = Profile(3, 10.0, 1.0, 2.0, 1, 1000.0, 3.0, 1)


def log(message: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


# --- machine -----------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in ("uvicorn", "uvloop", "httptools", "fastapi", "starlette", "aiohttp", "orjson"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    wrk = shutil.which("wrk")
    if wrk:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            out = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=5)
            versions["wrk"] = (out.stdout or out.stderr).split()[1]
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": versions,
        "pinned": _procs.can_pin(),
    }


# --- in process ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    median: float
    low: float
    high: float
    reps: int
    disturbed_reps: int
    other_cpu_pct: float
    steal_pct: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure(run: Callable[[], int], reps: int, budget_s: float) -> Rate:
    """Calls per second of ``run`` (which returns how many calls it made), median of reps.

    Reps during which other work took more than ``DISTURBED_PCT`` of a core are left
    out of the median as long as at least three undisturbed ones remain.
    """
    run()  # warm-up
    samples: list[tuple[float, dict[str, float]]] = []
    deadline = time.perf_counter() + budget_s
    for _ in range(reps):
        meter = _procs.CpuMeter([])
        started = time.perf_counter()
        calls = run()
        elapsed = time.perf_counter() - started
        samples.append((calls / elapsed, meter.stop()))
        if time.perf_counter() > deadline:
            break
    clean = [s for s in samples if disturbance(s[1]) <= DISTURBED_PCT]
    used = clean if len(clean) >= 3 else samples
    rates = [rate for rate, _ in used]
    return Rate(
        median=statistics.median(rates),
        low=min(rates),
        high=max(rates),
        reps=len(used),
        disturbed_reps=len(samples) - len(clean),
        other_cpu_pct=max(m["other_cpu_pct"] for _, m in used),
        steal_pct=max(m["steal_pct"] for _, m in used),
    )


@contextlib.contextmanager
def on_core(core: int) -> Iterator[None]:
    """Pin this process to ``core`` for the block (steadier figures), if possible."""
    before = os.sched_getaffinity(0)
    if core in before and len(before) > 1:
        os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


class StringIndex:
    """The candidate of issue #8: bisect the ICCID *strings*, one sorted table per length
    (digit strings of one length sort as their numbers do), no integer conversion. Same
    answers as ``IccidIndex`` (checked before measuring): a non-digit text is in no range."""

    __slots__ = ("_tables",)

    def __init__(self, ranges: Sequence[RangeRef]) -> None:
        grouped: dict[str, dict[int, list[RangeRef]]] = {}
        for r in ranges:
            grouped.setdefault(r.environment, {}).setdefault(len(r.start), []).append(r)
        self._tables: dict[str, dict[int, tuple[list[str], list[str], list[RangeRef]]]] = {
            env: {
                n: ([r.start for r in rs], [r.end for r in rs], rs)
                for n, rs in ((n, sorted(rs, key=lambda r: r.start)) for n, rs in by_len.items())
            }
            for env, by_len in grouped.items()
        }

    def resolve(self, iccid: str, environment: str) -> RangeRef | None:
        tables = self._tables.get(environment)
        if tables is None:
            return None
        table = tables.get(len(iccid))
        if table is None or not (iccid.isdigit() and iccid.isascii()):
            return None
        starts, ends, owners = table
        position = bisect_right(starts, iccid) - 1
        if position >= 0 and iccid <= ends[position]:
            return owners[position]
        return None


def specs_for(ranges: list[_data.RangeSpec], operators: int) -> list[OperatorSpec]:
    return [OperatorSpec.model_validate(d) for d in _data.operator_documents(ranges, operators)]


def in_process(
    snapshot: RegistrySnapshot, n_ranges: int, profile: Profile
) -> dict[str, dict[str, Any]]:
    index: IccidIndex = snapshot.index
    python_index = IccidIndex(index.ranges(), native=False)
    string_index = StringIndex(index.ranges())
    mixed = _data.mixed_iccids(n_ranges, 100_000, hit_share=0.9)
    hits = _data.hit_iccids(n_ranges, 100_000)
    misses = _data.miss_iccids(n_ranges, 20_000)
    hot = [hits[0]] * 100_000

    # Sanity: the generated queries hit and miss where they should.
    assert all(index.resolve(i, ENV) is not None for i in hits[:1000])
    assert all(index.resolve(i, ENV) is None for i in misses[:1000])
    expected_hits = sum(index.resolve(i, ENV) is not None for i in mixed)
    assert all(string_index.resolve(i, ENV) is index.resolve(i, ENV) for i in mixed)
    assert all(string_index.resolve(i, ENV) is None for i in ("", "8901x" + "0" * 14, "١" * 19))

    def resolve_all(
        items: list[str], on: IccidIndex | StringIndex | None = None
    ) -> Callable[[], int]:
        def run() -> int:
            resolve = (on or index).resolve
            for iccid in items:
                resolve(iccid, ENV)
            return len(items)

        return run

    def records(items: list[str], dump: bool) -> Callable[[], int]:
        def run() -> int:
            for iccid in items:
                body = sim_record(snapshot, iccid, ENV)
                if dump:
                    orjson.dumps(body)
            return len(items)

        return run

    def not_found() -> int:
        for iccid in misses:
            try:
                sim_record(snapshot, iccid, ENV)
            except NotFound:
                pass
            else:
                raise AssertionError(f"{iccid} should be in no range")
        return len(misses)

    def luhn_only() -> int:
        is_valid = luhn.is_valid
        for iccid in hits:
            is_valid(iccid)
        return len(hits)

    cases: list[tuple[str, str, Callable[[], int]]] = [
        (
            "resolve_mixed",
            f"IccidIndex.resolve ({'C table' if index.native else 'pure Python'}), random "
            f"ICCIDs ({expected_hits / len(mixed):.0%} hits)",
            resolve_all(mixed),
        ),
        (
            "resolve_mixed_python",
            "the same on the pure-Python index (baseline, same process)",
            resolve_all(mixed, python_index),
        ),
        (
            "resolve_mixed_strings",
            "the same on a pure-Python index of ICCID strings per length (issue #8 candidate)",
            resolve_all(mixed, string_index),
        ),
        (
            "resolve_hot",
            "IccidIndex.resolve, one ICCID repeated (cache-hot; diagnostic)",
            resolve_all(hot),
        ),
        ("sim_record_hit", "sim_record, random ICCIDs in a range (200)", records(hits, False)),
        ("sim_record_miss", "sim_record, random ICCIDs in no range (404)", not_found),
        (
            "sim_record_dumps",
            "sim_record + orjson.dumps (the fast path's body; 200)",
            records(hits, True),
        ),
        ("luhn", "stdnum luhn.is_valid alone (diagnostic)", luhn_only),
    ]
    out: dict[str, dict[str, Any]] = {}
    with on_core(_procs.LOAD_CORE):
        for key, label, run in cases:
            log(f"in process: {label}")
            rate = measure(run, profile.inproc_reps, profile.inproc_budget_s)
            out[key] = {"label": label, **rate.as_dict()}
    return out


# --- seeding and servers -----------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The environment without MP_* settings, so every process uses the temp data dir."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MP_")}


def seed_service(document: RegistryDocument, data_dir: Path) -> None:
    """What ``mobileplans config import`` does after parsing: one import_document."""
    from mobileplans.cli.runtime import database, load_settings
    from mobileplans.db.session import session_scope
    from mobileplans.domains.operator_registry import service
    from mobileplans.kit.clock import SystemClock

    settings = load_settings(data_dir)

    async def go() -> None:
        async with database(settings, process_name="cli") as sessions:
            async with session_scope(sessions) as session:
                await service.import_document(
                    session, document, actor="cli:bench", now=SystemClock().now()
                )

    asyncio.run(go())


def seed_cli(docs: list[dict[str, Any]], data_dir: Path, workdir: Path) -> None:
    path = workdir / "config.yaml"
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump({"version": 1, "operators": docs}, Dumper=dumper, sort_keys=False))
    command = [mobileplans_exe(), "config", "import", str(path), "--data-dir", str(data_dir)]
    done = subprocess.run(
        command, env=clean_env(), capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"config import failed:\n{done.stderr[-2000:]}")


def mobileplans_exe() -> str:
    local = Path(sys.executable).parent / "mobileplans"
    return str(local) if local.exists() else (shutil.which("mobileplans") or "mobileplans")


def maps_mention(pid: int, needle: str) -> bool | None:
    """Whether a shared object containing ``needle`` is mapped into process ``pid``."""
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None


def bench_env() -> dict[str, str]:
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start_broker(
    servers: _procs.Servers, name: str, data_dir: Path, *, fast_path: bool = True, timeout: float
) -> _procs.Server:
    """``mobileplans serve broker`` on ``data_dir``, pinned to the server core."""
    port = _procs.free_port()
    env = bench_env()
    if not fast_path:
        env["MP_BROKER_FAST_PATH"] = "false"
    command = [mobileplans_exe(), "serve", "broker", "--data-dir", str(data_dir)]
    server = servers.start(name, [*command, "--port", str(port)], port, env=env, cwd=ROOT)
    servers.wait_ready(server, "/healthz", timeout)
    return server


def start_bare(
    servers: _procs.Servers, name: str, body_file: Path, *, loop: str, timeout: float
) -> _procs.Server:
    port = _procs.free_port()
    env = bench_env()
    command = [sys.executable, "-m", "bench._bare", "--port", str(port)]
    command += ["--body-file", str(body_file), "--loop", loop]
    server = servers.start(name, command, port, env=env, cwd=ROOT)
    servers.wait_ready(server, "/", timeout)
    return server


def open_loop(
    server: _procs.Server, paths_file: Path, rate: float, duration: float, workdir: Path
) -> dict[str, Any]:
    out = workdir / f"openloop-{server.name}-{time.monotonic_ns()}.json"
    env = bench_env()
    command = [sys.executable, "-m", "bench._load", "--base-url", server.base_url]
    command += ["--paths-file", str(paths_file), "--rate", str(rate)]
    command += ["--duration", str(duration), "--warmup", "1", "--json", str(out)]
    done = subprocess.run(
        _procs.pinned(command, _procs.LOAD_CORE),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=duration * 2 + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"open-loop generator failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def disturbance(run: dict[str, Any]) -> float:
    """CPU taken by other processes plus steal during one run, % of one core."""
    return float(run["other_cpu_pct"]) + float(run["steal_pct"])


def undisturbed(
    run: Callable[[], dict[str, Any]], retries: int, discarded: list[dict[str, Any]], key: str
) -> dict[str, Any]:
    """``run()``, repeated up to ``retries`` times while other work disturbed it."""
    result = run()
    for _ in range(retries):
        if disturbance(result) <= DISTURBED_PCT:
            break
        log(
            f"[yellow]run disturbed ({disturbance(result):.0f}% of a core taken by other "
            "work); repeating it[/yellow]"
        )
        discarded.append({"server": key, **result})
        _procs.wait_quiet(RETRY_WAIT_S, DISTURBED_PCT)
        result = run()
    return result


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def http_section(
    args: argparse.Namespace,
    profile: Profile,
    ranges: list[_data.RangeSpec],
    docs: list[dict[str, Any]],
    workdir: Path,
    servers: _procs.Servers,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    data_dir = workdir / "data"
    log(f"seeding {len(ranges):,} ranges into SQLite ({args.seed})")
    started = time.perf_counter()
    if args.seed == "cli":
        seed_cli(docs, data_dir, workdir)
    else:
        seed_service(RegistryDocument.model_validate({"version": 1, "operators": docs}), data_dir)
    result["seed"] = {"method": args.seed, "seconds": time.perf_counter() - started}

    log("starting the broker (mobileplans serve broker)")
    started = time.perf_counter()
    broker = start_broker(servers, "broker", data_dir, fast_path=True, timeout=300)
    result["broker_startup_s"] = time.perf_counter() - started
    status, body, _ = _procs.http_get(broker.base_url + "/healthz")
    version = json.loads(body).get("configVersion")
    if status != 200 or not version or version < 1:
        raise RuntimeError(f"broker has no configuration loaded: {status} {body!r}")

    hits = _data.hit_iccids(len(ranges), 10_000, seed=7)
    paths = [f"/v1/sims/{iccid}" for iccid in hits]
    status, sample, headers = _procs.http_get(broker.base_url + paths[0])
    if status != 200:
        raise RuntimeError(f"broker answered {status} for {paths[0]}: {sample!r}")
    body_file = workdir / "body.json"
    body_file.write_bytes(sample)
    result["response"] = {
        "bytes": len(sample),
        "body": sample.decode(),
        "content_type": headers.get("content-type"),
    }
    paths_file = workdir / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")

    targets: dict[str, tuple[str, _procs.Server]] = {
        "broker": ("broker: mobileplans serve broker", broker)
    }
    if not args.no_extras:
        log("starting the broker with MP_BROKER_FAST_PATH=false (diagnostic)")
        targets["broker_fastapi"] = (
            "broker, MP_BROKER_FAST_PATH=false (diagnostic)",
            start_broker(servers, "broker-fastapi", data_dir, fast_path=False, timeout=300),
        )
    log("starting the bare ASGI app(s)")
    targets["bare"] = (
        "bare ASGI app, uvloop",
        start_bare(servers, "bare", body_file, loop="uvloop", timeout=60),
    )
    if not args.no_extras:
        targets["bare_asyncio"] = (
            "bare ASGI app, asyncio loop (diagnostic)",
            start_bare(servers, "bare-asyncio", body_file, loop="asyncio", timeout=60),
        )
    for key, (_, server) in targets.items():
        got = _procs.http_get(server.base_url + paths[1])
        if got[0] != 200:
            raise RuntimeError(f"{key} answered {got[0]} for {paths[1]}")
    # Which event loop each server really runs: is uvloop's extension mapped at all?
    result["uvloop_mapped"] = {
        key: maps_mention(server.process.pid, "uvloop") for key, (_, server) in targets.items()
    }
    server_pids = [server.process.pid for _, server in targets.values()]
    discarded: list[dict[str, Any]] = []
    result["discarded_runs"] = discarded
    bare_body = _procs.http_get(targets["bare"][1].base_url + paths[0])[1]
    result["bare_body_identical"] = bare_body == sample

    if shutil.which("wrk") is None:
        result["wrk"] = None
        result["wrk_missing"] = "install wrk (apt-get install -y wrk) for the max-rate figures"
    else:
        script = _procs.write_wrk_script(paths, workdir)
        runs: dict[str, list[dict[str, Any]]] = {key: [] for key in targets}
        for rep in range(profile.wrk_reps):
            for key, (label, server) in targets.items():
                log(f"wrk {rep + 1}/{profile.wrk_reps}: {label}")
                _procs.run_wrk(
                    server.base_url, script, duration=profile.wrk_warmup_s, latency=False
                )

                def one_wrk(url: str = server.base_url) -> dict[str, Any]:
                    meter = _procs.CpuMeter(server_pids)
                    wrk_run = _procs.run_wrk(url, script, duration=profile.wrk_duration_s)
                    return {**wrk_run.as_dict(), **meter.stop()}

                runs[key].append(undisturbed(one_wrk, args.retries, discarded, key))
        wrk: dict[str, Any] = {}
        for key, (label, _) in targets.items():
            wrk[key] = {
                "label": label,
                "rps": median_of(runs[key], "rps"),
                "rps_min": min(r["rps"] for r in runs[key]),
                "rps_max": max(r["rps"] for r in runs[key]),
                "p50_ms": median_of(runs[key], "p50_ms"),
                "p99_ms": median_of(runs[key], "p99_ms"),
                "non_2xx": sum(r["non_2xx"] for r in runs[key]),
                "socket_errors": sum(r["socket_errors"] for r in runs[key]),
                "other_cpu_pct_max": max(disturbance(r) for r in runs[key]),
                "steal_pct_max": max(r["steal_pct"] for r in runs[key]),
                "runs": runs[key],
            }
        result["wrk"] = wrk
        result["ratio_broker_bare"] = wrk["broker"]["rps"] / wrk["bare"]["rps"]
        if "bare_asyncio" in wrk:
            result["ratio_broker_bare_asyncio"] = wrk["broker"]["rps"] / wrk["bare_asyncio"]["rps"]

    open_targets = ["broker", "bare"]
    open_runs: dict[str, list[dict[str, Any]]] = {key: [] for key in open_targets}
    for rep in range(profile.open_reps):
        for key in open_targets:
            label, server = targets[key]
            log(f"open loop {profile.open_rate:.0f} req/s {rep + 1}/{profile.open_reps}: {label}")

            def one_open(target: _procs.Server = server) -> dict[str, Any]:
                meter = _procs.CpuMeter(server_pids)
                measured = open_loop(
                    target, paths_file, profile.open_rate, profile.open_duration_s, workdir
                )
                return {**measured, **meter.stop()}

            open_runs[key].append(undisturbed(one_open, args.retries, discarded, key))
    result["open_loop"] = {
        key: {
            "label": targets[key][0],
            "achieved_rps": median_of(runs_, "achieved_rps"),
            "p50_ms": median_of(runs_, "p50_ms"),
            "p99_ms": median_of(runs_, "p99_ms"),
            "p99_ms_max": max(float(r["p99_ms"]) for r in runs_),
            "errors": sum(int(r["errors"]) for r in runs_),
            "send_lag_p99_ms": median_of(runs_, "send_lag_p99_ms"),
            "other_cpu_pct_max": max(disturbance(r) for r in runs_),
            "steal_pct_max": max(float(r["steal_pct"]) for r in runs_),
            "runs": runs_,
        }
        for key, runs_ in open_runs.items()
    }
    return result


# --- report --------------------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def verdict(ok: bool) -> str:
    return "[green]meets[/green]" if ok else "[red]misses[/red]"


def report(results: dict[str, Any]) -> None:
    machine = results["machine"]
    params = results["params"]
    console.print(
        f"\n[bold]ICCID resolution[/bold]: {params['ranges']:,} ranges, "
        f"{params['operators']:,} operators, environment {ENV!r}; "
        f"{machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
        f"pinned={'yes' if machine['pinned'] else 'no'}"
        + (" [yellow](--quick)[/yellow]" if params["quick"] else "")
    )
    console.print(
        "load average (1 min) before/after: "
        f"{results['loadavg_before'][0]:.2f} / {results['loadavg_after'][0]:.2f}"
    )

    table = Table(
        title="In process (calls/s, median of the undisturbed reps; min-max), pinned to core "
        f"{_procs.LOAD_CORE}"
    )
    table.add_column("measure")
    table.add_column("median/s", justify="right")
    table.add_column("min-max/s", justify="right")
    table.add_column("µs/call", justify="right")
    table.add_column("reps", justify="right")
    table.add_column("other CPU %", justify="right")
    table.add_column("target")
    for key, row in results["in_process"].items():
        target = ""
        if key == "resolve_mixed":
            ok = row["median"] >= TARGET_RESOLVE_RPS
            target = f">= {TARGET_RESOLVE_RPS:,}/s: {verdict(ok)}"
        if key == "resolve_mixed_python" and "resolve_mixed" in results["in_process"]:
            ratio = results["in_process"]["resolve_mixed"]["median"] / row["median"]
            target = f"C table / Python: {ratio:.2f}x"
        if key == "resolve_mixed_strings" and "resolve_mixed" in results["in_process"]:
            share = row["median"] / results["in_process"]["resolve_mixed"]["median"]
            ok = row["median"] >= TARGET_RESOLVE_RPS or share >= 0.8
            target = (
                f"{share:.0%} of the C table (replaces it at >= 1 M/s or >= 80 %: {verdict(ok)})"
            )
        table.add_row(
            row["label"],
            fmt_rate(row["median"]),
            f"{fmt_rate(row['low'])}-{fmt_rate(row['high'])}",
            f"{1e6 / row['median']:.2f}",
            f"{row['reps']}",
            f"{disturbance(row):.0f}",
            target,
        )
    console.print(table)

    http = results.get("http")
    if not http:
        return
    console.print(
        f"seeded by {http['seed']['method']} in {http['seed']['seconds']:.1f} s; broker ready "
        f"in {http['broker_startup_s']:.1f} s; response {http['response']['bytes']} bytes; "
        f"bare body identical: {http['bare_body_identical']}"
    )
    if http.get("discarded_runs"):
        console.print(
            f"[yellow]{len(http['discarded_runs'])} disturbed HTTP run(s) redone "
            "(kept in --json under discarded_runs)[/yellow]"
        )
    mapped = ", ".join(f"{k}={v}" for k, v in http["uvloop_mapped"].items())
    console.print(f"uvloop loaded in the server process: {mapped}")
    wrk = http.get("wrk")
    if wrk:
        table = Table(
            title="GET /v1/sims/{iccid}, wrk -t1 -c64 (server core 0, wrk core 1), "
            f"median of {len(wrk['broker']['runs'])}"
        )
        table.add_column("server")
        table.add_column("req/s", justify="right")
        table.add_column("min-max", justify="right")
        table.add_column("µs/req", justify="right")
        table.add_column("p50 ms", justify="right")
        table.add_column("p99 ms", justify="right")
        table.add_column("errors", justify="right")
        table.add_column("other CPU %", justify="right")
        for row in wrk.values():
            table.add_row(
                row["label"],
                fmt_rate(row["rps"]),
                f"{fmt_rate(row['rps_min'])}-{fmt_rate(row['rps_max'])}",
                f"{1e6 / row['rps']:.0f}",
                f"{row['p50_ms']:.2f}",
                f"{row['p99_ms']:.2f}",
                str(row["non_2xx"] + row["socket_errors"]),
                f"{row['other_cpu_pct_max']:.0f}",
            )
        console.print(table)
        ratio = http["ratio_broker_bare"]
        console.print(
            f"broker / bare (uvloop) = [bold]{ratio:.0%}[/bold] "
            f"(target >= {TARGET_RATIO:.0%}: {verdict(ratio >= TARGET_RATIO)})"
        )
        if "ratio_broker_bare_asyncio" in http:
            console.print(
                f"broker / bare (asyncio loop) = {http['ratio_broker_bare_asyncio']:.0%} "
                "(diagnostic)"
            )
    else:
        console.print(f"[yellow]wrk figures missing: {http.get('wrk_missing')}[/yellow]")

    table = Table(title="Open loop, latency from the scheduled send time")
    table.add_column("server")
    table.add_column("target req/s", justify="right")
    table.add_column("achieved", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("worst-run p99", justify="right")
    table.add_column("client lag p99 ms", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("other CPU %", justify="right")
    table.add_column("target")
    rate = results["params"]["open_rate"]
    for key, row in http["open_loop"].items():
        target = ""
        if key == "broker":
            ok = row["p99_ms"] < TARGET_OPEN_P99_MS and row["errors"] == 0
            target = f"p99 < {TARGET_OPEN_P99_MS:.0f} ms: {verdict(ok)}"
        table.add_row(
            row["label"],
            fmt_rate(rate),
            fmt_rate(row["achieved_rps"]),
            f"{row['p50_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['p99_ms_max']:.2f}",
            f"{row['send_lag_p99_ms']:.2f}",
            str(row["errors"]),
            f"{row['other_cpu_pct_max']:.0f}",
            target,
        )
    console.print(table)
    console.print(
        "other CPU %: the worst run's CPU taken by processes other than the servers, the "
        "load generator and this script, plus steal (% of one core); more than a few "
        "percent means the figures were disturbed."
    )


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure ICCID resolution of the broker (prints figures).",
    )
    parser.add_argument("--ranges", type=int, default=100_000, help="ICCID ranges (100000)")
    parser.add_argument("--operators", type=int, default=1_000, help="operators (1000)")
    parser.add_argument("--quick", action="store_true", help="short durations (smoke run)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--seed",
        choices=("service", "cli"),
        default="service",
        help="load the database in process through the service layer (default), or "
        "through YAML + `mobileplans config import` (slow: the YAML parse dominates)",
    )
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="redo an HTTP run up to N times when other work took more than "
        f"{DISTURBED_PCT:.0f}%% of a core during it (2; the discarded runs go to --json)",
    )
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="skip the diagnostic servers (broker without fast path, bare app on asyncio)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk when missing"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before starting, wait up to SECONDS for other work on the machine to stop "
        f"(under {DISTURBED_PCT:.0f}%% of a core)",
    )
    args = parser.parse_args(argv)
    if args.ranges < 1 or args.operators < 1:
        parser.error("--ranges and --operators must be positive")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    profile = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)

    if not args.no_http and _procs.ensure_wrk(install=not args.no_install) is None:
        err.print("[yellow]wrk is missing: run `apt-get install -y wrk` (as root)[/yellow]")

    if args.wait_quiet > 0:
        log(f"waiting up to {args.wait_quiet:.0f} s for the machine to be quiet")
        busy = _procs.wait_quiet(args.wait_quiet, DISTURBED_PCT)
        log(f"other work takes {busy:.0f}% of a core")
    load_before = os.getloadavg()
    if load_before[0] > 0.3:
        err.print(
            f"[yellow]load average is {load_before[0]:.2f} before the run: other work on "
            "this machine will disturb the figures[/yellow]"
        )
    results: dict[str, Any] = {
        "machine": machine_info(),
        "loadavg_before": load_before,
        "params": {
            "ranges": args.ranges,
            "operators": min(args.operators, args.ranges),
            "quick": args.quick,
            "open_rate": profile.open_rate,
            "profile": profile.__dict__,
            "command": " ".join([Path(sys.executable).name, "-m", "bench.resolve", *sys.argv[1:]]),
        },
    }
    operators = results["params"]["operators"]
    log(f"generating {args.ranges:,} ranges over {operators:,} operators")
    ranges = _data.make_ranges(args.ranges, operators)
    docs = _data.operator_documents(ranges, operators)
    specs = [OperatorSpec.model_validate(d) for d in docs]
    started = time.perf_counter()
    snapshot = build_snapshot(1, specs)
    results["snapshot_build_s"] = time.perf_counter() - started
    results["in_process"] = in_process(snapshot, args.ranges, profile)
    del snapshot, specs

    if not args.no_http:
        with tempfile.TemporaryDirectory(prefix="mp-bench-") as tmp:
            servers = _procs.Servers(Path(tmp))
            try:
                results["http"] = http_section(args, profile, ranges, docs, Path(tmp), servers)
            finally:
                log("stopping servers")
                servers.stop_all()

    results["loadavg_after"] = os.getloadavg()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
