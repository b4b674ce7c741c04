"""Soak: the whole stack on PostgreSQL under a mixed load, faults injected on a schedule.

The stack (``bench._soak_stack``): ``mobileplans up`` on a scratch PostgreSQL database, a
second reference operator serving contoso, a probe target standing in for a few hundred
operators' portals and MO APIs, a mail sink, and a fault proxy on each hop (broker → MO
API, operator → SM-DP+, worker → probe targets, worker → SMTP). The load
(``bench._soak_load``): simulated PCs running first-run eSIM flows back to back, the
flyout's balance read through the broker (uncached, open loop), an outage declared every
few minutes and walked to closed (every step mails notices), and the worker's probes.

Every ``--fault-every`` seconds one hop (in turn) fails for ``--fault-seconds`` in one of
the proxy's modes (refuse, reset, delay, truncate, garbage, wrong content type). A 5xx is
"during a fault" when it falls in a window (plus ``GRACE_S``) of a hop its app depends on
(``DEPENDS``); every other 5xx counts against the run.

Reported: requests by interface and status with p50/p99 (client side) and by app, route and
status (server side); each process's resident memory and open descriptors after the
warm-up and at the end; and the invariants after the outboxes drained: every notification
delivered and mailed once, every SM-DP+ callback delivered in order per ICCID, every probe
slot of the window stored once, no order left half-written or holding a profile twice.
Prints figures; asserts nothing about time. Run from the repository root::

    .venv/bin/python -m bench.soak --minutes 30 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/mp_soak [--json PATH]

``--postgres`` drops and recreates the ``public`` schema of that database: its name must
contain ``soak`` or ``bench``. Exit status 1 when an invariant fails or a 5xx falls
outside the fault windows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from tests.faults.proxy import Fault

from bench import _procs, _soak_checks, _soak_load, _soak_report, _soak_stack, _stack

console = Console(width=None if sys.stdout.isatty() else 140)
GRACE_S = 20.0
PROFILES_PER_DEVICE_MINUTE = 300
"""A device runs a flow in ~0.3-0.6 s: 300 a minute leaves the pool never empty (the
6,000 of an earlier default ran out after 22 of 30 minutes once flows got faster)."""
WARMUP_S = 60.0
DEPENDS = {
    "broker": {"mo"},
    "operator": {"mo", "es2"},
    "smdp": {"es2"},
    "console": set(),
}
"""The hops whose faults may explain an app's 5xx (a hop's failure reaches the app's caller)."""
SCHEDULE: list[tuple[str, Fault, dict[str, float]]] = [
    ("mo", Fault.REFUSE, {}),
    ("probes", Fault.REFUSE, {"seconds": 75.0}),
    ("es2", Fault.GARBAGE, {}),
    ("smtp", Fault.REFUSE, {}),
    ("mo", Fault.DELAY, {"delay_seconds": 6.0}),
    ("probes", Fault.DELAY, {"delay_seconds": 8.0, "seconds": 75.0}),
    ("es2", Fault.RESET, {"reset_after": 50}),
    ("smtp", Fault.GARBAGE, {}),
    ("mo", Fault.TRUNCATE, {"truncate_after": 10}),
    ("probes", Fault.GARBAGE, {"seconds": 75.0}),
    ("es2", Fault.REFUSE, {}),
    ("mo", Fault.WRONG_TYPE, {}),
    ("smtp", Fault.DELAY, {"delay_seconds": 5.0}),
    ("mo", Fault.GARBAGE, {}),
]
"""Fault windows in the order they come; the list starts again when it is used up. A
``seconds`` knob holds that window longer than ``--fault-seconds`` (capped at
``--fault-every``): probes fail long enough (two failed probes 30 s apart) for the incident
engine to open incidents on every operator behind the proxy, which mails their contacts."""


def log(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


async def faults(
    stack: _soak_stack.Stack, every: float, seconds: float, stop: asyncio.Event
) -> list[dict[str, Any]]:
    """Inject the schedule's faults until ``stop``; returns the windows (monotonic times)."""
    windows: list[dict[str, Any]] = []
    step = 0
    held = seconds
    while not await _soak_load._sleep(stop, max(0.0, every - held)):
        hop, mode, knobs = SCHEDULE[step % len(SCHEDULE)]
        step += 1
        knobs = dict(knobs)
        held = min(every, knobs.pop("seconds", seconds))
        stack.proxies[hop].set(mode, **knobs)
        started = time.monotonic()
        log(f"fault: {hop} {mode.value} {knobs or ''} for {held:g} s")
        stopped = await _soak_load._sleep(stop, held)
        stack.proxies[hop].set(Fault.PASS)
        windows.append({"hop": hop, "mode": mode.value, "start": started, "end": time.monotonic()})
        if stopped:
            break
    return windows


def explained(app: str, at: tuple[float, float], windows: list[dict[str, Any]]) -> bool:
    """Does an interval ``at`` of an app's counts overlap a window of a hop it depends on?"""
    hops = DEPENDS.get(app, set())
    return any(
        w["hop"] in hops and at[0] <= w["end"] + GRACE_S and at[1] >= w["start"] for w in windows
    )


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    await _soak_stack.fresh_database(args.postgres)
    servers = _procs.Servers(workdir, pin=False)
    with contextlib.ExitStack() as exits:
        exits.callback(servers.stop_all)
        log("starting the stack (PostgreSQL, up, side operator, probe target, proxies)")
        profiles = args.profiles or int(args.devices * args.minutes * PROFILES_PER_DEVICE_MINUTE)
        sizes = (args.operators, max(profiles, 100))
        stack = _soak_stack.start(servers, workdir, args.postgres, sizes, exits)
        log(f"{len(stack.synthetic_operators)} operators added behind the probes proxy")
        return await drive(stack, args)
    raise AssertionError("unreachable")


async def drive(stack: _soak_stack.Stack, args: argparse.Namespace) -> dict[str, Any]:
    stop, watch_stop = asyncio.Event(), asyncio.Event()
    recorder, watch = _soak_load.Recorder(), _soak_checks.Watch()
    began, began_at = time.monotonic(), datetime.now(UTC)
    watcher = asyncio.create_task(watch.run(stack, watch_stop))
    load = [
        _soak_load.devices(stack, args.devices, stop, recorder),
        _soak_load.flyout(stack, args.rate, stop, recorder),
        _soak_load.incidents(stack, args.incident_every, stop, recorder),
    ]
    tasks = [asyncio.create_task(job) for job in load]
    fault_task = asyncio.create_task(faults(stack, args.fault_every, args.fault_seconds, stop))
    log(f"load running for {args.minutes:g} min")
    await _progress(stop, args.minutes * 60, recorder)
    stop.set()
    windows = await fault_task
    await asyncio.gather(*tasks)
    ended_at = datetime.now(UTC)
    log("load stopped; waiting for the outboxes to drain")
    pending = await _soak_checks.drain(args.postgres, args.drain)
    watch_stop.set()
    await watcher
    window = (began_at + timedelta(seconds=WARMUP_S), ended_at - timedelta(seconds=30))
    checks = await _soak_checks.invariants(stack, window)
    logs = {"up": stack.up.log_path, "side operator": stack.side.log_path}
    warmup = (began, began + WARMUP_S)
    return _soak_report.document(
        args, recorder, watch, windows, checks, pending, warmup, explained, logs
    )


async def _progress(stop: asyncio.Event, seconds: float, recorder: _soak_load.Recorder) -> None:
    deadline = time.monotonic() + seconds
    while not await _soak_load._sleep(stop, min(60.0, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            return
        done = len(recorder.samples)
        left = (deadline - time.monotonic()) / 60
        log(f"{done} requests and flows recorded, {left:.1f} min to go")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a scratch database (name with 'soak')")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--devices", type=int, default=2, help="concurrent simulated PCs")
    parser.add_argument("--rate", type=float, default=20.0, help="flyout GetBalance/s")
    parser.add_argument("--operators", type=int, default=150, help="2 probes each")
    parser.add_argument(
        "--profiles", type=int, help="SM-DP+ profiles to add (default: 300 per device-minute)"
    )
    parser.add_argument("--incident-every", type=float, default=120.0, help="seconds")
    parser.add_argument("--fault-every", type=float, default=150.0, help="seconds")
    parser.add_argument("--fault-seconds", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=300.0, help="longest wait at the end")
    parser.add_argument("--json", type=Path, help="write the report here too")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mp-soak-"))
    log(f"work directory {workdir}; load average {_stack.load_average()}")
    try:
        document = asyncio.run(run(args, workdir))
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    _soak_report.show(console, document)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    sys.exit(0 if document["verdict"]["holds"] else 1)


if __name__ == "__main__":
    main()
