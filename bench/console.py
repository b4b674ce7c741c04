"""Server time of the console's pages at scale: the overview and an operator page with 500
operators, 1,000 probes and a month of rollups (issue #10).

    .venv/bin/python -m bench.console                       # SQLite file in a temp directory
    .venv/bin/python -m bench.console --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/mp_console_bench
    .venv/bin/python -m bench.console --operators 5 --days 1 --raw-hours 2 --requests 5  # smoke

What it does:

1. A fresh database (``--postgres`` drops and recreates the ``public`` schema of that
   database, whose name must contain ``bench``), migrated, then seeded by
   ``bench._console_seed``: ``--operators`` operators through the registry service, their
   portal and GetBalance probes through the probe service's sync, ``--days`` days of hour
   and day rollups, the last ``--raw-hours`` of raw results rolled up by the real rollup
   job, ``--incidents`` open incidents and ``--maintenance`` announced windows through
   their services, and an operator credential.
2. The console as production runs it: ``mobileplans serve console`` (one process, pinned
   to core 0 when taskset is there), on a real socket on 127.0.0.1.
3. Signed in as the platform (admin token) and as an operator (the credential), one
   request at a time (``--warmup`` then ``--requests`` each): ``GET /healthz`` (the
   framework's floor), ``GET /status`` (a page through the same session, template and
   middleware stack), ``GET /`` (overview), ``GET /overview/rows`` (what the overview polls
   every 15 s), ``GET /operators/{id}`` as the platform and as that operator.

Per request: the server's own time (the app's ``mobileplans_http_request_duration_seconds``
histogram: its ``_sum`` for the route, read on the same connection before and after),
the client's latency, and the CPU of the server process (all its threads) and, on
PostgreSQL, of the console's database backends (``/proc/.../schedstat``, nanoseconds).
Also the 1-minute load average around the run and the CPU other processes took (the
machine may be shared). Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _procs, _stack
from bench._console_client import CpuClock, Series, measure, sign_in
from bench._console_seed import Seeded, Shape, seed
from bench._sla_data import fresh_database
from bench.providers import own_priority, raise_priority
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker

PORT = 27003  # H6's port base 27000 + 3, the console's offset in ``up``


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


async def prepare(url: str, shape: Shape) -> Seeded:
    await fresh_database(url)
    engine = make_engine(url, process_name="bench")
    try:
        await migrate.upgrade(engine)
        return await seed(make_sessionmaker(engine), url, shape, datetime.now(UTC))
    finally:
        await engine.dispose()


async def backend_pids(url: str) -> list[int]:
    """Process ids of the console's PostgreSQL backends (application name ``console`` in
    the bench's database)."""
    engine = make_engine(url, process_name="bench")
    try:
        async with engine.connect() as conn:
            from sqlalchemy import text

            rows = await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'console' "
                    "AND datname = current_database()"  # other databases' consoles: not ours
                )
            )
            return [int(r[0]) for r in rows]
    finally:
        await engine.dispose()


def start_console(
    servers: _procs.Servers, data_dir: Path, args: argparse.Namespace
) -> _procs.Server:
    extra = {"MP_DATABASE_URL": args.postgres} if args.postgres else {}
    command = [_stack.mobileplans_exe(), "serve", "console", "--data-dir", str(data_dir)]
    command += ["--port", str(args.port)]
    server = servers.start("console", command, args.port, env=_stack.bench_env(extra))
    servers.wait_ready(server, "/healthz", timeout=120.0)
    raise_priority(server.process.pid, args.nice)
    return server


PAGES = ("healthz", "status", "overview", "rows", "sorted", "operator", "operator-self")


def plan(seeded: Seeded, pages: list[str]) -> list[tuple[Series, str | None]]:
    """What is measured, and a text each answer must hold (the page really is at scale)."""
    op = seeded.measured_operator
    every_one = f"of {len(seeded.operators)} operators"  # a page of them all (D253)
    every = {
        "healthz": (Series("healthz (floor)", "/healthz", "/healthz", "platform"), None),
        "status": (Series("status page", "/status", "/status", "platform"), "Broker"),
        "overview": (Series("overview", "/", "/", "platform"), every_one),
        "rows": (Series("overview rows (15-s poll)", "/overview/rows", "/overview/rows",
                        "platform"), every_one),
        "sorted": (Series("overview by availability", "/?sort=availability", "/",
                          "platform"), every_one),
        "operator": (Series("operator page", f"/operators/{op}", "/operators/{operator_id}",
                            "platform"), op),
        "operator-self": (Series("operator page", f"/operators/{op}", "/operators/{operator_id}",
                                 "operator"), op),
    }  # fmt: skip
    return [every[name] for name in pages]


def run_requests(
    args: argparse.Namespace, server: _procs.Server, data_dir: Path, seeded: Seeded
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    tokens = {
        "platform": (data_dir / "admin_token").read_text().strip(),
        "operator": seeded.operator_token,
    }
    chosen = plan(seeded, args.pages)
    parties = {series.party for series, _check in chosen}
    clients = {party: sign_in(server.base_url, tokens[party]) for party in sorted(parties)}
    others = asyncio.run(backend_pids(args.postgres)) if args.postgres else []
    cpu = CpuClock(server.process.pid, others)
    meter = _procs.CpuMeter([server.process.pid, *others])
    results = []
    try:
        for series, check in chosen:
            log(f"{series.name} ({series.party})")
            many = args.overview_requests if series.route in ("/", "/overview/rows") else None
            measure(
                clients[series.party], series, cpu,
                warmup=args.warmup, requests=many or args.requests, check=check,
            )  # fmt: skip
            results.append(series.summary())
    finally:
        for client in clients.values():
            client.close()
    return results, meter.stop()


def show(document: dict[str, Any]) -> None:
    seeded = document["seeded"]
    print(
        f"{document['database']}: {len(seeded['operators'])} operators, {seeded['probes']} "
        f"probes, rollups {seeded['rollup_rows']}, {seeded['raw_rows']:,} raw rows, "
        f"{seeded['incidents']} open incidents, {seeded['maintenance']} maintenance windows"
    )
    head = (
        "page",
        "party",
        "server p50",
        "p99",
        "client p50",
        "p99",
        "CPU/req",
        "DB CPU/req",
        "KB",
    )
    rows = [
        (
            f"{r['name']} {r['path']}", r["party"], r["server_p50_ms"], r["server_p99_ms"],
            r["client_p50_ms"], r["client_p99_ms"], r["cpu_ms_per_request"],
            "—" if r["db_cpu_ms_per_request"] is None else r["db_cpu_ms_per_request"],
            round(r["response_bytes"] / 1024, 1),
        )
        for r in document["results"]
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        print("  ".join(str(v).rjust(w) if i > 1 else str(v).ljust(w)
                        for i, (v, w) in enumerate(zip(row, widths, strict=True))))  # fmt: skip
    print(
        f"ms; load average (1 min) {document['load_before']} -> {document['load_after']}; "
        f"other work {document['other_work']['other_cpu_pct']:.0f} % of a core"
    )


def seeded_data(args: argparse.Namespace, workdir: Path, url: str, shape: Shape) -> Seeded:
    """A fresh seed, or (``--reuse``) the one a ``--keep`` run left in ``workdir``."""
    kept = workdir / "seeded.json"
    if args.reuse:
        return Seeded(**json.loads(kept.read_text()))
    log(f"seeding {args.operators} operators into {url.split(':', 1)[0]}")
    seeded = asyncio.run(prepare(url, shape))
    log(f"seeded in {seeded.seconds} s")
    if args.keep:  # for --reuse and sessions by hand (holds the operator's credential)
        kept.write_text(json.dumps(asdict(seeded)))
        kept.chmod(0o600)
    return seeded


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.reuse:
        workdir = args.reuse
    else:
        workdir = Path(tempfile.mkdtemp(prefix="mp-console-bench-", dir=args.workdir))
        (workdir / "data").mkdir()
    data_dir = workdir / "data"
    url = args.postgres or f"sqlite+aiosqlite:///{data_dir / 'mobileplans.db'}"
    shape = Shape(args.operators, args.days, args.raw_hours, args.incidents, args.maintenance)
    document: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "database": "postgresql" if args.postgres else "sqlite",
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "nice": args.nice,
        "shape": asdict(shape),
    }
    servers = _procs.Servers(workdir)
    try:
        seeded = seeded_data(args, workdir, url, shape)
        document["seeded"] = {k: v for k, v in asdict(seeded).items() if k != "operator_token"}
        log(f"starting the console on {args.port}")
        server = start_console(servers, data_dir, args)
        document["load_before"] = round(os.getloadavg()[0], 2)
        document["results"], document["other_work"] = run_requests(args, server, data_dir, seeded)
        document["load_after"] = round(os.getloadavg()[0], 2)
    finally:
        servers.stop_all()
        if not (args.keep or args.reuse):
            shutil.rmtree(workdir, ignore_errors=True)
    return document


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--operators", type=int, default=500, help="2 probes each")
    parser.add_argument("--days", type=int, default=30, help="days of rollups")
    parser.add_argument("--raw-hours", type=int, default=24, help="hours of raw results")
    parser.add_argument("--incidents", type=int, default=60, help="open incidents")
    parser.add_argument("--maintenance", type=int, default=100, help="announced windows")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page")
    parser.add_argument(
        "--overview-requests",
        type=int,
        help="measured requests of / and /overview/rows (default: --requests)",
    )
    parser.add_argument("--warmup", type=int, default=10, help="requests before measuring")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--postgres", help="scratch PostgreSQL URL (name contains 'bench')")
    parser.add_argument("--workdir", help="where the data directory goes (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--reuse",
        type=Path,
        help="the work directory a --keep run left (same --postgres): measure, no seeding",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority (nice and autogroup) of the bench and the console "
        "(root may give < 0 on a shared machine; reported)",
    )
    parser.add_argument(
        "--pages",
        type=lambda v: v.split(","),
        default=list(PAGES),
        help=f"comma-separated subset of {','.join(PAGES)}",
    )
    args = parser.parse_args(argv)
    if not set(args.pages) <= set(PAGES):
        parser.error(f"--pages takes {', '.join(PAGES)}")
    if args.operators < 2 or args.requests < 1 or args.days < 1 or args.raw_hours < 1:
        parser.error("--operators >= 2, --requests, --days and --raw-hours >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with own_priority(args.nice):
        document = run(args)
    show(document)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
