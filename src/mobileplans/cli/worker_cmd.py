"""``mobileplans worker`` and ``mobileplans probes``: run the prober, inspect and tune probes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.runtime import (
    DatabaseNotReady,
    database,
    fail,
    load_settings,
    run,
    run_with_database,
)
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Settings, UrlPolicy
from mobileplans.db.session import session_scope
from mobileplans.domains.probe import scheduler
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.schemas import ProbeRead, ProbeSettingsPatch, RunResult
from mobileplans.kit import netguard
from mobileplans.kit.clock import SystemClock
from mobileplans.worker.loop import WorkerOptions, check, options_from, run_once, run_worker

app = typer.Typer(
    help="Live-site probes of operator endpoints (spec 5.1): see them, sync them with the "
    "registry, run them once, add, tune or remove one.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Data directory")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
Interval = Annotated[
    int | None, typer.Option("--interval", help="Seconds between runs, 30-300 (default 30)")
]
Timeout = Annotated[
    float | None, typer.Option("--timeout", help="Seconds before a run is a timeout, <= 10")
]
LatencyTarget = Annotated[
    float | None,
    typer.Option("--latency-target", help="Milliseconds; slower answers are 'degraded' (400)"),
]


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"[:64]


def _run_on_uvloop(coroutine: Coroutine[Any, Any, None]) -> None:
    """uvloop when installed (it is, with uvicorn[standard]): cheaper per probe."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


def worker(
    data_dir: DataDir = None,
    worker_id: Annotated[
        str | None,
        typer.Option("--worker-id", help="Name on claims and results (default host-pid)"),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Probes in flight at once")] = 200,
    batch: Annotated[int, typer.Option(min=1, help="Rows per claim and results per write")] = 500,
    sync: Annotated[
        bool, typer.Option(help="Sync probes from the operator registry when it changes")
    ] = True,
    jobs: Annotated[
        bool, typer.Option(help="Also run the periodic jobs (rollups, retention...)")
    ] = True,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT")
    ] = None,
) -> None:
    """Run the prober and the periodic jobs until SIGTERM or Ctrl-C (then exit 0).

    Several workers may share one database: claims are compare-and-set, so each slot of a
    probe is stored once; a worker that dies loses nothing (its claims expire and other
    workers run those slots).
    """
    wid = worker_id or default_worker_id()
    if len(wid) > 64:
        raise typer.BadParameter("at most 64 characters", param_hint="--worker-id")
    settings = load_settings(data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    options = options_from(
        settings, concurrency=concurrency, batch=batch, sync=sync, jobs=jobs, tune_gc=True
    )
    try:
        _run_on_uvloop(_serve(settings, wid, options))
    except DatabaseNotReady as exc:
        raise fail(str(exc)) from exc


async def _serve(settings: Settings, worker_id: str, options: WorkerOptions) -> None:
    """The worker until SIGTERM/SIGINT; the signal sets the stop event the loop watches."""
    netguard.enforce(strict=settings.url_policy == UrlPolicy.STRICT)  # D248, this loop only
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker_database = database(settings, process_name=f"worker {worker_id}", upgrade=False)
    async with worker_database as sessions:
        errors.print(
            f"worker {worker_id} running (concurrency {options.concurrency}, batch {options.batch})"
        )
        report = await run_worker(
            sessions,
            SystemClock(),
            worker_id=worker_id,
            stop_event=stop,
            settings=settings,
            options=options,
        )
    errors.print(f"worker {worker_id} stopped: {report}")


def _table(probes: list[ProbeRead]) -> Table:
    table = fitted_table(
        "id",
        "operator",
        "env",
        "kind",
        "every",
        "next run (UTC)",
        "last",
        "fails",
    )
    for p in probes:
        table.add_row(
            str(p.id),
            p.operator_id,
            p.environment,
            p.kind,
            f"{p.interval_seconds}s" if p.enabled else "disabled",
            p.next_run_at.strftime("%Y-%m-%d %H:%M:%S"),
            p.last_outcome or "-",
            str(p.consecutive_failures),
        )
    return table


@app.command("list")
def list_(
    data_dir: DataDir = None,
    operator: Annotated[str | None, typer.Option(help="Only this operator")] = None,
    as_json: AsJson = False,
) -> None:
    """Every probe with its schedule and last outcome."""
    probes = run(data_dir, lambda s: probe_service.list_probes(s, operator_id=operator))
    if as_json:
        typer.echo(json.dumps([p.wire() for p in probes], indent=2))
    else:
        console.print(_table(probes))


@app.command("sync")
def sync_(data_dir: DataDir = None) -> None:
    """Make the probes match the operator registry now.

    The worker does this by itself whenever the registry's configuration version moves.
    """
    now = SystemClock().now()
    summary = run(data_dir, lambda s: probe_service.sync_from_registry(s, now=now))
    typer.echo(json.dumps(summary.wire(), indent=2))


def _results_table(results: list[RunResult]) -> Table:
    table = fitted_table(
        "probe",
        "operator",
        "env",
        "kind",
        "outcome",
        "status",
        "ms",
        "detail",
        wrap=("detail",),
    )
    for r in results:
        table.add_row(
            str(r.run.probe_id),
            r.run.operator_id,
            r.run.environment,
            r.run.kind,
            r.outcome.value,
            str(r.status or "-"),
            f"{r.latency_ms:.1f}",
            r.detail or "",
        )
    return table


def _result_wire(result: RunResult) -> dict[str, object]:
    return {
        "probeId": result.run.probe_id,
        "operatorId": result.run.operator_id,
        "environment": result.run.environment,
        "kind": result.run.kind,
        "scheduledAt": result.run.scheduled_at.isoformat(),
        "startedAt": result.started_at.isoformat(),
        "outcome": result.outcome.value,
        "status": result.status,
        "latencyMs": round(result.latency_ms, 3),
        "detail": result.detail,
    }


@app.command("run-once")
def run_once_(
    data_dir: DataDir = None,
    operator: Annotated[str | None, typer.Option(help="Only this operator's probes")] = None,
    record: Annotated[
        bool,
        typer.Option(
            help="--record: run the probes due now and store their results, as a worker "
            "would. --no-record: run every enabled probe now and store nothing"
        ),
    ] = True,
    as_json: AsJson = False,
) -> None:
    """Run probes once and print their outcomes."""
    settings = load_settings(data_dir)
    clock, worker_id = SystemClock(), f"cli-{default_worker_id()}"[:64]
    options = options_from(settings)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[RunResult]:
        if record:
            return await run_once(
                sessions, clock, worker_id=worker_id, options=options, operator_id=operator
            )
        async with session_scope(sessions) as session:
            probes = await probe_service.list_probes(session, operator_id=operator)
        runs = [scheduler.unscheduled_run(p, clock.now()) for p in probes if p.enabled]
        return await check(clock, runs, worker_id=worker_id, options=options)

    results = run_with_database(settings, work)
    if as_json:
        typer.echo(json.dumps([_result_wire(r) for r in results], indent=2))
    elif results:
        console.print(_results_table(results))
    else:
        console.print("no probe is due")


@app.command("add")
def add(
    operator: Annotated[str, typer.Option(help="Operator id in the registry")],
    kind: Annotated[str, typer.Option(help="portal | getbalance | microbalance")],
    environment: Annotated[str, typer.Option(help="staging | production")] = "production",
    interval: Interval = None,
    timeout: Timeout = None,
    latency_target: LatencyTarget = None,
    data_dir: DataDir = None,
) -> None:
    """Add a probe explicitly, e.g. a Data Marketplace operator's microbalance probe.

    An existing probe of that kind is re-enabled and retuned. Its URL comes from the registry.
    """
    now = SystemClock().now()

    async def action(session: AsyncSession) -> ProbeRead:
        settings = probe_service.settings_of(interval, timeout, latency_target)
        return await probe_service.add_probe(
            session,
            operator_id=operator,
            environment=environment,
            kind=kind,
            settings=settings,
            now=now,
        )

    typer.echo(json.dumps(run(data_dir, action).wire(), indent=2))


@app.command("set")
def set_(
    probe_id: Annotated[int, typer.Argument(help="Probe id (see 'probes list')")],
    interval: Interval = None,
    timeout: Timeout = None,
    latency_target: LatencyTarget = None,
    data_dir: DataDir = None,
) -> None:
    """Change a probe's interval, timeout or latency target."""
    now = SystemClock().now()
    patch = ProbeSettingsPatch(
        interval_seconds=interval, timeout_seconds=timeout, latency_target_ms=latency_target
    )
    read = run(data_dir, lambda s: probe_service.update_settings(s, probe_id, patch, now=now))
    typer.echo(json.dumps(read.wire(), indent=2))


@app.command("remove")
def remove(
    probe_id: Annotated[int, typer.Argument(help="Probe id of an explicitly added probe")],
    data_dir: DataDir = None,
) -> None:
    """Disable an explicitly added probe; its results are kept."""
    now = SystemClock().now()
    read = run(data_dir, lambda s: probe_service.remove_probe(s, probe_id, now=now))
    typer.echo(json.dumps(read.wire(), indent=2))
