"""``GET /v1/providers`` on one broker process: rate, latency, CPU, every launch record stored.

    .venv/bin/python -m bench.providers                      # SQLite, demo catalog
    .venv/bin/python -m bench.providers --postgres postgresql+asyncpg://postgres@127.0.0.1/db
    .venv/bin/python -m bench.providers --providers 3        # 3 operators serve the country
    .venv/bin/python -m bench.providers --kill               # SIGKILL mid-load, count records

What it does: a fresh data directory (or the PostgreSQL database given, which gets the
bench's operators and launch records added), the catalog that ``mobileplans up`` seeds
(Contoso in the US; ``--providers N`` adds US operators up to N), then the real broker
(``mobileplans serve broker``) pinned to core 0 and wrk (``-t1 -c32``) pinned to core 1 on
100 eSIM device paths (distinct EIDs and IMEIs). Per run: requests/s, p50/p99, the broker's
CPU per request (``/proc``), other work's CPU share, and the launch records stored during
the run against the 200 answers times the providers per answer (a request still in
flight when wrk stops may add its records after wrk's count: up to 32 answers more).
A bare ASGI app answering the same bytes (``bench._bare``, uvloop) runs in the same run
as the baseline.

``--kill``: 32 closed-loop clients in this process collect every ``transactionId`` they
get in a 200 answer; after ``--kill-after`` seconds the broker gets SIGKILL; then every
collected ``transactionId`` is looked up in the database (decision D93: none may miss).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from stdnum import luhn

from bench import _procs, _stack

CONNECTIONS = 32
PATHS = 100
TARGET_RPS = 5 * 634
TARGET_P99_MS = 25.0


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- set-up ------------------------------------------------------------------------------


def raise_priority(pid: int, nice: int) -> None:
    """``nice`` for process ``pid`` and for its autogroup.

    With ``kernel.sched_autogroup_enabled`` (the default on most distributions) the
    scheduler first shares a core between *sessions*, and a process's nice value counts
    only inside its own; every server here runs in a session of its own
    (``_procs.Servers``), so the nice value alone changed nothing against the other
    work on the machine. Errors are ignored (not root, no autogroups)."""
    if not nice:
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


@contextlib.contextmanager
def own_priority(nice: int) -> Iterator[None]:
    """This process (and the children in its session: wrk, the generator) at ``nice``
    for the block; the session's autogroup is shared with the shell that started the
    bench, so its value is put back afterwards."""
    group = Path(f"/proc/{os.getpid()}/autogroup")
    before = ""
    with contextlib.suppress(OSError):
        before = group.read_text().rsplit("nice", 1)[-1].strip()
    raise_priority(os.getpid(), nice)
    try:
        yield
    finally:
        if nice and before:
            with contextlib.suppress(OSError):
                group.write_text(before)


def catalog(providers: int) -> dict[str, Any]:
    """The ``up`` demo catalog, plus US operators until ``providers`` serve the US."""
    from mobileplans.cli.demo import demo_document

    document = demo_document("http://127.0.0.1:9")
    operators: list[dict[str, Any]] = document["operators"]
    contoso = operators[0]
    for n in range(1, providers):
        extra = json.loads(json.dumps(contoso))
        prefix = f"89019{n + 10:02d}"
        extra.update(id=f"bench{n}", brandName=f"Bench Mobile {n}", plmns=[f"001-{n + 10:02d}"])
        for rng in extra["iccidRanges"]:
            rng["start"], rng["end"] = prefix + rng["start"][7:], prefix + rng["end"][7:]
        extra.pop("monitoringIccid", None)
        operators.append(extra)
    return {"version": 1, "operators": operators}


def env_for(args: argparse.Namespace) -> dict[str, str]:
    extra = {"MP_URL_POLICY": "local"}
    if args.postgres:
        extra["MP_DATABASE_URL"] = args.postgres
    return _stack.bench_env(extra)


def cli(args: argparse.Namespace, command: list[str], data_dir: Path) -> None:
    import subprocess

    full = [_stack.mobileplans_exe(), *command, "--data-dir", str(data_dir)]
    done = subprocess.run(
        full, env=env_for(args), cwd=_stack.ROOT, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed:\n{done.stderr[-2000:]}")


def seed(args: argparse.Namespace, data_dir: Path, workdir: Path) -> None:
    config = workdir / "catalog.yaml"
    config.write_text(yaml.safe_dump(catalog(args.providers), sort_keys=False))
    log(f"db upgrade + config import ({args.providers} provider(s) in the US)")
    cli(args, ["db", "upgrade"], data_dir)
    cli(args, ["config", "import", str(config)], data_dir)


def start_broker(args: argparse.Namespace, servers: _procs.Servers, data_dir: Path) -> Any:
    port = _procs.free_port()
    command = [_stack.mobileplans_exe(), "serve", "broker", "--data-dir", str(data_dir)]
    command += ["--port", str(port)]
    server = servers.start("broker", command, port, env=env_for(args), cwd=_stack.ROOT)
    raise_priority(server.process.pid, args.nice)
    servers.wait_ready(server, "/healthz", 120)
    return server


def device_paths(count: int) -> list[str]:
    from mobileplans.kit.identifiers import eid_with_check_digits

    paths = []
    for n in range(count):
        eid = eid_with_check_digits(f"890330234221300000000{n:09d}")
        imei_body = f"35{n:012d}"
        imei = imei_body + luhn.calc_check_digit(imei_body)
        paths.append(f"/v1/providers?location=US&market=US&eid={eid}&imei={imei}")
    return paths


# --- the database ------------------------------------------------------------------------


def _pg(args: argparse.Namespace, query: str, *params: Any) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    url = args.postgres.replace("postgresql+asyncpg://", "postgresql://")

    async def go() -> Any:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(query, *params)
        finally:
            await connection.close()

    return asyncio.run(go())


def launch_rows(args: argparse.Namespace, data_dir: Path) -> int:
    if args.postgres:
        return int(_pg(args, "SELECT count(*) FROM portal_launches"))
    with sqlite3.connect(data_dir / "mobileplans.db") as db:
        return int(db.execute("SELECT count(*) FROM portal_launches").fetchone()[0])


def stored_of(args: argparse.Namespace, data_dir: Path, ids: list[str]) -> int:
    if args.postgres:
        query = "SELECT count(*) FROM portal_launches WHERE transaction_id = ANY($1::text[])"
        return int(_pg(args, query, ids))
    found = 0
    with sqlite3.connect(data_dir / "mobileplans.db") as db:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT count(*) FROM portal_launches WHERE transaction_id IN ({marks})"
            found += int(db.execute(query, chunk).fetchone()[0])
    return found


# --- measurements ------------------------------------------------------------------------


def wrk_run(server: Any, script: Path, duration: float, pids: list[int]) -> dict[str, Any]:
    cpu_before = _procs._process_cpu(server.process.pid)
    meter = _procs.CpuMeter(pids)
    result = _procs.run_wrk(server.base_url, script, duration=duration, connections=CONNECTIONS)
    disturbance = meter.stop()
    cpu = _procs._process_cpu(server.process.pid) - cpu_before
    ok = result.requests - result.non_2xx
    return {
        **result.as_dict(),
        **disturbance,
        "ok": ok,
        "cpu_ms_per_request": cpu * 1e3 / max(1, result.requests),
        "server_cpu_pct": cpu / duration * 100,
    }


def throughput(args: argparse.Namespace, servers: _procs.Servers, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / "data"
    seed(args, data_dir, workdir)
    broker = start_broker(args, servers, data_dir)
    paths = device_paths(PATHS)
    status, body, _ = _procs.http_get(broker.base_url + paths[0])
    if status != 200:
        raise RuntimeError(f"broker answered {status}: {body[:300]!r}")
    per_answer = len(json.loads(body)["providers"])
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    bare_port = _procs.free_port()
    command = [sys.executable, "-m", "bench._bare", "--port", str(bare_port)]
    bare = servers.start(
        "bare",
        [*command, "--body-file", str(body_file)],
        bare_port,
        env=_stack.bench_env(),
        cwd=_stack.ROOT,
    )
    raise_priority(bare.process.pid, args.nice)
    servers.wait_ready(bare, "/", 60)
    script = _procs.write_wrk_script(paths, workdir)
    pids = [broker.process.pid, bare.process.pid]
    runs: dict[str, list[dict[str, Any]]] = {"broker": [], "bare": []}
    for server in (broker, bare):
        _procs.run_wrk(
            server.base_url, script, duration=args.warmup, connections=CONNECTIONS, latency=False
        )
    for n in range(args.runs):
        for target, server in (("broker", broker), ("bare", bare)):
            before = launch_rows(args, data_dir) if target == "broker" else 0
            run = wrk_run(server, script, args.duration, pids)
            if target == "broker":
                time.sleep(1.0)  # requests in flight when wrk stopped finish and store
                run["rows_stored"] = launch_rows(args, data_dir) - before
                run["rows_expected_min"] = run["ok"] * per_answer
                run["rows_expected_max"] = (run["ok"] + CONNECTIONS) * per_answer
                run["all_stored"] = (
                    run["rows_expected_min"] <= run["rows_stored"] <= run["rows_expected_max"]
                )
            log(
                f"run {n + 1} {target}: {run['rps']:,.0f} rps p99 {run['p99_ms']:.1f} ms, "
                f"{run['cpu_ms_per_request']:.3f} ms CPU/request, other CPU "
                f"{run['other_cpu_pct']:.0f} %"
                + (
                    f", rows {run['rows_stored']} for {run['ok']} answers × {per_answer}"
                    if target == "broker"
                    else ""
                )
            )
            runs[target].append(run)
    return {"providers_per_answer": per_answer, "body_bytes": len(body), "runs": runs}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    def med(target: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in result["runs"][target])

    broker_rps, bare_rps = med("broker", "rps"), med("bare", "rps")
    worst_p99 = max(float(r["p99_ms"]) for r in result["runs"]["broker"])
    all_stored = all(r["all_stored"] for r in result["runs"]["broker"])
    return {
        "broker_rps_median": broker_rps,
        "broker_p50_ms_median": med("broker", "p50_ms"),
        "broker_p99_ms_median": med("broker", "p99_ms"),
        "broker_p99_ms_worst": worst_p99,
        "broker_cpu_ms_per_request": med("broker", "cpu_ms_per_request"),
        "bare_rps_median": bare_rps,
        "bare_p99_ms_median": med("bare", "p99_ms"),
        "ratio_broker_bare": broker_rps / bare_rps,
        "other_cpu_pct_max": max(
            float(r["other_cpu_pct"]) for runs in result["runs"].values() for r in runs
        ),
        "every_launch_stored": all_stored,
        "target_met": broker_rps >= TARGET_RPS and worst_p99 < TARGET_P99_MS and all_stored,
    }


# --- the crash ---------------------------------------------------------------------------


async def collect(base_url: str, paths: list[str], stop_at: float) -> tuple[list[str], int]:
    """32 closed-loop clients; the ``transactionId`` values of every 200 answer."""
    import aiohttp

    handed: list[str] = []
    failures = 0

    async def client(offset: int, session: aiohttp.ClientSession) -> None:
        nonlocal failures
        n = offset
        while time.monotonic() < stop_at:
            n += CONNECTIONS
            try:
                async with session.get(paths[n % len(paths)]) as response:
                    body = await response.read()
                    if response.status == 200:
                        handed.extend(p["transactionId"] for p in json.loads(body)["providers"])
                        continue
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            failures += 1
            await asyncio.sleep(0.01)

    timeout = aiohttp.ClientTimeout(total=5)
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as session:
        await asyncio.gather(*[client(i, session) for i in range(CONNECTIONS)])
    return handed, failures


def crash(args: argparse.Namespace, servers: _procs.Servers, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / "data"
    seed(args, data_dir, workdir)
    broker = start_broker(args, servers, data_dir)
    before = launch_rows(args, data_dir)
    paths = device_paths(PATHS)
    started = time.monotonic()

    def killer() -> None:
        time.sleep(args.kill_after)
        os.killpg(broker.process.pid, signal.SIGKILL)
        log(f"SIGKILL sent to the broker after {time.monotonic() - started:.1f} s of load")

    import threading

    thread = threading.Thread(target=killer)
    thread.start()
    with on_core(_procs.LOAD_CORE):
        handed, failures = asyncio.run(
            collect(broker.base_url, paths, started + args.kill_after + 2.0)
        )
    thread.join()
    broker.process.wait(timeout=10)
    stored = stored_of(args, data_dir, handed)
    total = launch_rows(args, data_dir) - before
    return {
        "kill_after_s": args.kill_after,
        "transaction_ids_handed_out": len(handed),
        "distinct": len(set(handed)),
        "of_those_stored": stored,
        "missing": len(set(handed)) - stored,
        "rows_stored_during_the_run": total,
        "stored_but_never_answered": total - stored,
        "failed_requests_after_the_kill": failures,
    }


@contextlib.contextmanager
def on_core(core: int) -> Iterator[None]:
    """Run this process on ``core`` (the load core) for the block."""
    saved = os.sched_getaffinity(0)
    if core in saved:
        os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="postgresql+asyncpg:// URL of a database to fill")
    parser.add_argument("--providers", type=int, default=1, help="operators serving the US")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kill", action="store_true", help="the SIGKILL crash count instead")
    parser.add_argument("--kill-after", type=float, default=5.0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority (nice and autogroup) of the bench and everything it starts "
        "(root may give < 0, so the broker and wrk keep their cores on a shared machine; "
        "reported)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if _procs.ensure_wrk(install=True) is None and not args.kill:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="mp-bench-providers-"))
    servers = _procs.Servers(workdir)
    document: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "database": "postgresql" if args.postgres else "sqlite",
        "nice": args.nice,
        "machine": {"cpus": os.cpu_count(), **_stack.load_average()},
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    try:
        with own_priority(args.nice):
            if args.kill:
                document["crash"] = crash(args, servers, workdir)
            else:
                document["throughput"] = throughput(args, servers, workdir)
                document["summary"] = summary(document["throughput"])
    finally:
        servers.stop_all()
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    document["machine_after"] = _stack.load_average()
    text = json.dumps(document, indent=2)
    if args.json:
        args.json.write_text(text)
    print(json.dumps(document.get("summary") or document.get("crash"), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
