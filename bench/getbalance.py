"""GetBalance load against the reference MO API (spec 2.3, load profile of spec 4.2).

Prints figures and the spec 4.2 verdict; asserts nothing about time.

Set-up, all on 127.0.0.1 on a fresh SQLite data directory:
1. ``mobileplans up`` once (registry, plans, demo), then stopped;
2. 1,000 active lines with a prepaid balance each, created through the subscriber
   services (``bench._mo_seed``: create_line + balances.credit);
3. the operator app alone, ``mobileplans serve operator --config FILE`` (one uvicorn
   worker, pinned to core 0), with the demo sites but ``rate_limit_per_second`` and
   ``rate_limit_burst`` raised to 1,000,000: the default per-client token bucket
   (50/s, burst 100) would turn a load test from one client into a 429 test;
4. the open-loop generator (``bench._mo_load``: aiohttp, uvloop, a fresh quoted
   ``X-MS-DM-TransactionId`` per request) in its own process pinned to core 1.

Measurements:
- *profile*: ``GET /contoso/api/v1/sims/iccid:{ICCID}/balances?fieldsTemplate=basic``
  over the 1,000 ICCIDs at 3 requests/s for ``--duration`` seconds (spec: 1 h), with
  the verdict against 99.9 % success and 400 ms average latency;
- *max rate*: open-loop steps (25, 50, 100, 200, 400 … 3200 requests/s, ``--step``
  seconds each) until a step's p99 >= 400 ms or success < 99.9 %; the highest passing
  step is what one operator worker sustains;
- *broker* (skip with ``--no-broker``): the same search through the broker's proxy
  ``GET /v1/balances?iccid=`` (``mobileplans serve broker``, MP_BALANCE_CACHE_SECONDS=0,
  also on core 0, so broker and operator share that core).

Latency is measured from each request's scheduled send time (no coordinated omission).

    .venv/bin/python -m bench.getbalance [--quick] [--duration 120] [--step 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml
from rich.console import Console
from rich.table import Table

from bench import _procs, _stack

OPERATOR = "contoso"
PROFILE_RATE = 3.0
SLA_SUCCESS_PCT = 99.9
SLA_MEAN_MS = 400.0
SEARCH_P99_MS = 400.0
RATES = (25, 50, 100, 200, 400, 800, 1600, 3200)
RATE_LIMIT = 1_000_000
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)


def log(message: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


# --- set-up ------------------------------------------------------------------------------


def operator_config_file(port_base: int, path: Path) -> Path:
    """The ``up`` operator sites, with the per-client rate limit out of the way."""
    from mobileplans.cli.demo_registry import Ports
    from mobileplans.cli.up import operator_config

    config = operator_config(Ports(_procs.HOST, port_base), secrets.token_urlsafe(32))
    sites = [
        s.model_copy(update={"rate_limit_per_second": RATE_LIMIT, "rate_limit_burst": RATE_LIMIT})
        for s in config.sites
    ]
    document = config.model_copy(update={"sites": sites}).model_dump(mode="json")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def prepare(servers: _procs.Servers, workdir: Path, port_base: int, count: int) -> list[str]:
    data_dir = workdir / "data"
    log(f"mobileplans up --data-dir {data_dir} --port-base {port_base} (seeding, then stopped)")
    up = _stack.start_up(servers, data_dir, port_base)
    servers.stop(up)
    servers.started.remove(up)
    log(f"seeding {count} lines with balances (subscriber services)")
    out = workdir / "iccids.txt"
    command = [sys.executable, "-m", "bench._mo_seed", "--data-dir", str(data_dir)]
    command += ["--count", str(count), "--out", str(out)]
    subprocess.run(command, env=_stack.bench_env(), cwd=_stack.ROOT, check=True, timeout=600)
    return out.read_text().split()


def start_operator(servers: _procs.Servers, workdir: Path, port_base: int) -> _procs.Server:
    config = operator_config_file(port_base, workdir / "operator.yaml")
    port = port_base + 1
    command = [_stack.mobileplans_exe(), "serve", "operator", "--config", str(config)]
    command += ["--data-dir", str(workdir / "data"), "--port", str(port)]
    log(f"{' '.join(command[1:4])} … --port {port} (core 0)")
    server = servers.start("operator", command, port, env=_stack.bench_env(), cwd=_stack.ROOT)
    servers.wait_ready(server, "/healthz", 60)
    return server


def start_broker(servers: _procs.Servers, workdir: Path, port_base: int) -> _procs.Server:
    env = _stack.bench_env({"MP_BALANCE_CACHE_SECONDS": "0", "MP_URL_POLICY": "local"})
    command = [_stack.mobileplans_exe(), "serve", "broker", "--data-dir", str(workdir / "data")]
    command += ["--port", str(port_base)]
    log(f"serve broker --port {port_base}, MP_BALANCE_CACHE_SECONDS=0 (core 0)")
    server = servers.start("broker", command, port_base, env=env, cwd=_stack.ROOT)
    servers.wait_ready(server, "/healthz", 60)
    return server


def mo_paths(iccids: list[str]) -> list[str]:
    shuffled = random.Random(4).sample(iccids, len(iccids))
    return [f"/{OPERATOR}/api/v1/sims/iccid:{i}/balances?fieldsTemplate=basic" for i in shuffled]


def broker_paths(iccids: list[str]) -> list[str]:
    shuffled = random.Random(4).sample(iccids, len(iccids))
    return [f"/v1/balances?iccid={i}" for i in shuffled]


def check_answer(server: _procs.Server, path: str) -> str:
    """One request by hand: it must be a 200 with a balance, or the run is meaningless."""
    import urllib.request

    request = urllib.request.Request(
        server.base_url + path, headers={"X-MS-DM-TransactionId": '"MSFT-bench-check"'}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}: {body[:300]}")
    return str(body[:300])


# --- load --------------------------------------------------------------------------------


def load_run(
    server: _procs.Server,
    paths_file: Path,
    rate: float,
    duration: float,
    *,
    header: bool,
    pids: list[int],
    warmup: float = 2.0,
) -> dict[str, Any]:
    out = paths_file.parent / f"load-{server.name}-{time.monotonic_ns()}.json"
    command = [sys.executable, "-m", "bench._mo_load", "--base-url", server.base_url]
    command += ["--paths-file", str(paths_file), "--rate", str(rate), "--duration", str(duration)]
    command += ["--warmup", str(warmup), "--json", str(out)] + ([] if header else ["--no-header"])
    before = {pid: _procs._process_cpu(pid) for pid in pids}
    load_before = _stack.load_average()
    meter = _procs.CpuMeter(pids)
    started = time.monotonic()
    done = subprocess.run(
        _procs.pinned(command, _procs.LOAD_CORE),
        env=_stack.bench_env(),
        cwd=_stack.ROOT,
        capture_output=True,
        text=True,
        timeout=(duration + warmup) * 2 + 60,
        check=False,
    )
    elapsed = time.monotonic() - started
    other = meter.stop()
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    used = sum(_procs._process_cpu(pid) - before[pid] for pid in pids)
    result["server_cpu_pct"] = used / elapsed * 100  # includes the warm-up
    sent = rate * (duration + warmup) - result["statuses"].get("not sent", 0)
    result["server_cpu_ms_per_request"] = used / max(sent, 1) * 1000
    result.update(other)
    result["load_before"], result["load_after"] = load_before, _stack.load_average()
    return result


def passes_search(step: dict[str, Any]) -> bool:
    return bool(step["success_pct"] >= SLA_SUCCESS_PCT and step["p99_ms"] < SEARCH_P99_MS)


def search(run: Callable[[float], dict[str, Any]], rates: tuple[int, ...]) -> dict[str, Any]:
    """Steps up the rate until one fails; the highest passing step is the answer."""
    steps = []
    best: float | None = None
    for rate in rates:
        log(f"  {rate} requests/s")
        step = run(float(rate))
        step["passed"] = passes_search(step)
        steps.append(step)
        log(
            f"    p99 {step['p99_ms']:.1f} ms, success {step['success_pct']:.2f} %, "
            f"achieved {step['achieved_rps']:.0f}/s, server CPU {step['server_cpu_pct']:.0f} %, "
            f"{step['server_cpu_ms_per_request']:.1f} ms/request"
        )
        if not step["passed"]:
            break
        best = rate
    return {"steps": steps, "max_passing_rps": best}


# --- report ------------------------------------------------------------------------------


def verdict(profile: dict[str, Any]) -> bool:
    return bool(profile["success_pct"] >= SLA_SUCCESS_PCT and profile["mean_ms"] <= SLA_MEAN_MS)


def profile_table(profile: dict[str, Any]) -> Table:
    table = Table(title="load profile (spec 4.2, shortened): 1,000 ICCIDs", title_justify="left")
    for name in ("rate/s", "duration s", "requests", "success %", "mean ms", "p50 ms"):
        table.add_column(name, justify="right")
    for name in ("p99 ms", "max ms", "statuses", "verdict"):
        table.add_column(name, justify="right")
    ok = verdict(profile)
    table.add_row(
        f"{profile['target_rps']:g}",
        f"{profile['duration_s']:g}",
        str(profile["scheduled"]),
        f"{profile['success_pct']:.2f}",
        f"{profile['mean_ms']:.1f}",
        f"{profile['p50_ms']:.1f}",
        f"{profile['p99_ms']:.1f}",
        f"{profile['max_ms']:.1f}",
        json.dumps(profile["statuses"]),
        "[green]PASS[/green]" if ok else "[bold red]FAIL[/bold red]",
    )
    return table


def search_table(title: str, found: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("target/s", "achieved/s", "success %", "mean ms", "p50 ms", "p90 ms"):
        table.add_column(name, justify="right")
    for name in ("p99 ms", "server CPU %", "CPU ms/req", "other CPU %", "load1", "pass"):
        table.add_column(name, justify="right")
    for s in found["steps"]:
        table.add_row(
            f"{s['target_rps']:g}",
            f"{s['achieved_rps']:.0f}",
            f"{s['success_pct']:.2f}",
            f"{s['mean_ms']:.1f}",
            f"{s['p50_ms']:.1f}",
            f"{s['p90_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            f"{s['server_cpu_pct']:.0f}",
            f"{s['server_cpu_ms_per_request']:.1f}",
            f"{s['other_cpu_pct']:.0f}",
            f"{s['load_after']['load1']:.2f}",
            "yes" if s["passed"] else "[red]no[/red]",
        )
    return table


def print_report(document: dict[str, Any]) -> None:
    console.print(profile_table(document["profile"]))
    mo = document["max_rate_operator"]
    console.print(search_table("max rate, operator MO API (one uvicorn worker)", mo))
    console.print(f"highest passing rate, operator: [bold]{mo['max_passing_rps']}[/bold] /s")
    broker = document.get("max_rate_broker")
    if broker:
        console.print(search_table("max rate, broker proxy /v1/balances (cache off)", broker))
        console.print(
            f"highest passing rate, broker proxy: [bold]{broker['max_passing_rps']}[/bold] /s"
        )
    start, end = document["load_start"], document["load_end"]
    console.print(
        f"load average start {start['load1']:.2f} / {start['load5']:.2f}, "
        f"end {end['load1']:.2f} / {end['load5']:.2f} (1 / 5 min; "
        f"{len(os.sched_getaffinity(0))} usable cores, pinned: {document['pinned']})"
    )


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 s profile, 5 s steps")
    parser.add_argument("--duration", type=float, help="profile seconds (default 120)")
    parser.add_argument("--step", type=float, help="seconds per search step (default 10)")
    parser.add_argument("--rates", help="search steps, requests/s (default 25,50,100 … 3200)")
    parser.add_argument("--iccids", type=int, default=1000)
    parser.add_argument("--no-broker", dest="broker", action="store_false")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, servers: _procs.Servers, workdir: Path) -> dict[str, Any]:
    duration = args.duration or (30.0 if args.quick else 120.0)
    step = args.step or (5.0 if args.quick else 10.0)
    rates = tuple(int(r) for r in args.rates.split(",")) if args.rates else RATES
    port_base = _stack.free_port_base()
    iccids = prepare(servers, workdir, port_base, args.iccids)
    operator = start_operator(servers, workdir, port_base)
    mo_file = workdir / "mo-paths.txt"
    mo_file.write_text("\n".join(mo_paths(iccids)) + "\n")
    log(f"check: {check_answer(operator, mo_paths(iccids)[0])}")
    pids = [operator.process.pid]
    log(f"profile: {PROFILE_RATE:g} requests/s for {duration:g} s over {len(iccids)} ICCIDs")
    document: dict[str, Any] = {
        "profile": load_run(
            operator, mo_file, PROFILE_RATE, duration, header=True, pids=pids, warmup=0
        )
    }
    log("max rate, operator MO API")
    document["max_rate_operator"] = search(
        lambda rate: load_run(operator, mo_file, rate, step, header=True, pids=pids), rates
    )
    if args.broker:
        broker = start_broker(servers, workdir, port_base)
        broker_file = workdir / "broker-paths.txt"
        broker_file.write_text("\n".join(broker_paths(iccids)) + "\n")
        log(f"check: {check_answer(broker, broker_paths(iccids)[0])}")
        both = [broker.process.pid, operator.process.pid]
        log("max rate, broker proxy (cache off)")
        document["max_rate_broker"] = search(
            lambda rate: load_run(broker, broker_file, rate, step, header=False, pids=both), rates
        )
    document["step_s"] = step
    return document


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-getbalance-"))
    servers = _procs.Servers(workdir)
    load_start = _stack.load_average()
    started = time.gmtime()
    try:
        document = measure(args, servers, workdir)
    finally:
        servers.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    document.update(
        benchmark="getbalance",
        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", started),
        pinned=_procs.can_pin(),
        load_start=load_start,
        load_end=_stack.load_average(),
        verdict="pass" if verdict(document["profile"]) else "fail",
    )
    print_report(document)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))
        log(f"results written to {args.json}")


if __name__ == "__main__":
    main()
