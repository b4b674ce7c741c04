"""The activation flow's CPU as **instruction counts** (valgrind's callgrind), the
password hash taken off (issue #8). Unlike ``bench.activation``'s CPU time per flow, an
instruction count does not move with the machine's other load.

Set-up: ``mobileplans up`` on a fresh SQLite data directory, run natively once to create,
migrate and seed it, and ``mobileplans smdp generate`` adds ``--profiles`` SM-DP+
profiles (as ``bench.activation`` does). That process is stopped; the same ``up`` on the
same data directory and ports is started again under
``valgrind --tool=callgrind --instr-atstart=no`` (one process: broker, operator, SM-DP+,
console, the worker and the password-hashing threads). Beside the stack it listens on a
control port (a raw asyncio server in the same loop, not in any app's path) that calls
callgrind's client requests through a tiny C shim built here with ``gcc`` and
``<valgrind/callgrind.h>``: ``start`` (instrumentation on), ``zero``, ``dump NAME``.

The client (this process, not under valgrind) runs the simulator's ``first-run-esim``
scenario one flow after the other (HTTP mode, one device, as ``bench.activation`` at 1
device): ``--warmup`` flows, zero, ``--flows`` flows, dump ``measured``; zero, ``--idle``
seconds with no flow, dump ``idle``. Every flow must pass. Reported per flow:

- *total*: the ``measured`` dump's instructions (Ir, every thread) over the flows;
- *hash*: the inclusive instructions of the outermost function whose name holds
  ``scrypt`` (OpenSSL's scrypt under ``hashlib.scrypt``, in the hashing threads);
- *outside hash*: total - hash; *idle part*: the ``idle`` dump's instructions per second
  times the measured seconds, over the flows (the worker's loops run on wall-clock
  timers, and a flow under valgrind lasts ~50 times longer than natively);
  *outside hash net*: outside hash - idle part: **the figure**.

``--profile PATH`` runs the same stack natively instead (no valgrind) and, over the
measured flows, profiles the event loop's thread with ``cProfile`` on the thread's CPU
clock (enabled and dumped through the same control port): the Python functions behind
the instructions, printed by cumulative and by own time (``--top N``) and saved to PATH
(``pstats``).

    .venv/bin/python -m bench.activation_instructions [--flows 20] [--warmup 3]
        [--idle 20] [--profiles 200] [--annotate 40] [--keep DIR] [--json PATH]
    .venv/bin/python -m bench.activation_instructions --profile /tmp/act.prof [--flows 40]

Needs ``valgrind`` (``callgrind_annotate``) and ``gcc`` with the valgrind headers
(``apt-get install valgrind gcc``) for the count; nothing more for ``--profile``.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _procs, _stack
from bench.activation import GENERATE, SCENARIO, reason
from bench.getbalance_instructions import _Control as CountControl
from bench.getbalance_instructions import (
    annotate,
    build_shim,
    command,
    total_instructions,
    trigger,
)

HOST = "127.0.0.1"


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- the served process -------------------------------------------------------------------


class _Control(CountControl):
    """``bench.getbalance_instructions``' control lines, and ``profile on|dump PATH``."""

    profiler: Any = None

    def data_received(self, data: bytes) -> None:
        words = data.decode().split()
        if words[:1] != ["profile"]:
            super().data_received(data)
            return
        if words[1:] == ["on"]:
            import cProfile

            _Control.profiler = cProfile.Profile(time.thread_time)  # CPU, not wall time
            _Control.profiler.enable()
        elif words[1:2] == ["dump"]:
            _Control.profiler.disable()
            _Control.profiler.dump_stats(words[2])
        assert self.transport is not None
        self.transport.write(b"ok\n")


async def _serve(args: argparse.Namespace) -> None:
    from mobileplans.cli.demo_registry import Ports
    from mobileplans.cli.runtime import load_settings
    from mobileplans.cli.up import run_up

    shim = ctypes.CDLL(str(args.shim)) if args.shim else None
    loop = asyncio.get_running_loop()
    control = await loop.create_server(lambda: _Control(shim), HOST, args.control_port)
    try:
        await run_up(load_settings(args.data_dir), Ports(host=HOST, base=args.port_base))
    finally:
        control.close()


def serve(args: argparse.Namespace) -> None:
    from mobileplans.web.server import run_servers_forever

    run_servers_forever(_serve(args))


# --- the client (this process) ------------------------------------------------------------


async def flows(data_dir: Path, count: int) -> list[str]:
    """``count`` first-run-esim flows one after the other; the failures' reasons."""
    from bench.activation import Level, device
    from mobileplans.simulator.endpoints import load_endpoints
    from mobileplans.simulator.runner import default_operator

    endpoints = load_endpoints(data_dir / "endpoints.json")
    operator = default_operator(endpoints)
    if operator is None:
        raise RuntimeError("endpoints.json names no operator to buy from")
    endpoints = endpoints.for_operator(operator)
    level = Level(1)
    await device(endpoints, operator, level, time.perf_counter() + 10**6, [count])
    return [reason(run) for run in level.runs if run.failed]


def run_flows(data_dir: Path, count: int, what: str) -> float:
    started = time.monotonic()
    failed = asyncio.run(flows(data_dir, count))
    seconds = time.monotonic() - started
    if failed:
        raise RuntimeError(f"{what}: {len(failed)} of {count} flows failed: {failed[:3]}")
    log(f"{what}: {count} flows in {seconds:.1f} s")
    return seconds


def hash_instructions(dump: str) -> tuple[int, str]:
    """The inclusive Ir of the outermost function named ``*scrypt*`` and its name."""
    done = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
        capture_output=True,
        text=True,
        check=True,
    )
    best = (0, "-")
    for line in done.stdout.split("file:function", 1)[-1].splitlines():
        count, _, name = line.strip().partition(" ")
        if "scrypt" in name.lower() and count[:1].isdigit():
            best = max(best, (int(count.replace(",", "")), name.strip()))
    return best


# --- the stack ----------------------------------------------------------------------------


def prepare(servers: _procs.Servers, data_dir: Path, port_base: int, profiles: int) -> None:
    """Create, migrate and seed the data directory natively, add profiles, stop."""
    log(f"mobileplans up --data-dir {data_dir} --port-base {port_base} (natively, set-up)")
    up = _stack.start_up(servers, data_dir, port_base)
    log(f"adding {profiles} SM-DP+ profiles (contoso-consumer)")
    _stack.cli([*GENERATE, "--count", str(profiles)], data_dir)
    servers.stop(up, timeout=60)


def start_measured(
    servers: _procs.Servers, args: argparse.Namespace, workdir: Path, ports: tuple[int, int]
) -> _procs.Server:
    command = [sys.executable, "-m", "bench.activation_instructions", "serve"]
    command += ["--data-dir", str(workdir / "data"), "--port-base", str(ports[0])]
    command += ["--control-port", str(ports[1])]
    if not args.profile:
        callgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        callgrind += [f"--callgrind-out-file={workdir / 'up'}.callgrind"]
        command = [*callgrind, *command, "--shim", str(workdir / "callgrind_shim.so")]
    up = servers.start("measured", command, ports[0], env=_stack.bench_env(), cwd=_stack.ROOT)
    for offset in _stack.PARTS.values():
        part = _procs.Server(up.name, ports[0] + offset, up.process, up.log_path)
        servers.wait_ready(part, "/healthz", 1800.0)  # imports under valgrind are slow
    return up


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    servers = _procs.Servers(workdir, pin=False)
    data_dir = workdir / "data"
    try:
        prepare(servers, data_dir, args.port_base, args.profiles)
        ports = (args.port_base, _procs.free_port())
        log("starting the stack " + ("natively" if args.profile else "under callgrind"))
        start_measured(servers, args, workdir, ports)
        control = ports[1]
        if not args.profile:
            asyncio.run(command(control, "start"))
        run_flows(data_dir, args.warmup, "warm-up")
        asyncio.run(command(control, "profile on" if args.profile else "zero"))
        seconds = run_flows(data_dir, args.flows, "measured")
        if args.profile:
            asyncio.run(command(control, f"profile dump {args.profile.resolve()}"))
            return {"profile": str(args.profile), "seconds": seconds}
        asyncio.run(command(control, "dump measured"))
        asyncio.run(command(control, "zero"))
        time.sleep(args.idle)
        asyncio.run(command(control, "dump idle"))
    finally:
        servers.stop_all()
    dumps = {trigger(p): p for p in workdir.glob("up.callgrind*")}
    return figures(args, dumps, seconds)


def figures(args: argparse.Namespace, dumps: dict[str, Path], seconds: float) -> dict[str, Any]:
    total = total_instructions(dumps["measured"])
    scrypt, name = hash_instructions(str(dumps["measured"]))
    idle_rate = total_instructions(dumps["idle"]) / args.idle
    idle = idle_rate * seconds
    n = args.flows
    result: dict[str, Any] = {"flows": n, "seconds": seconds, "hash_function": name}
    result.update(total_per_flow=total / n, hash_per_flow=scrypt / n)
    result.update(outside_hash_per_flow=(total - scrypt) / n, idle_per_flow=idle / n)
    result["outside_hash_net_per_flow"] = (total - scrypt - idle) / n
    result.update(idle_per_second=idle_rate, dump=str(dumps["measured"]))
    return result


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    served = sub.add_parser("serve", help="(internal) the stack with a control port")
    served.add_argument("--data-dir", type=Path, required=True)
    served.add_argument("--port-base", type=int, required=True)
    served.add_argument("--control-port", type=int, required=True)
    served.add_argument("--shim", type=Path)
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle counting")
    parser.add_argument("--profiles", type=int, default=200, help="SM-DP+ profiles to add")
    parser.add_argument("--profile", type=Path, help="natively, cProfile into this file")
    parser.add_argument("--top", type=int, default=40, help="--profile: functions shown")
    parser.add_argument("--annotate", type=int, default=0, help="top N functions (inclusive)")
    parser.add_argument("--keep", type=Path, help="keep the dumps in this directory")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def print_profile(path: Path, top: int) -> None:
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def report(document: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"{SCENARIO}: {document['flows']} flows, instructions (Ir) per flow")
    for key in ("total", "hash", "outside_hash", "idle", "outside_hash_net"):
        print(f"  {key.replace('_', ' '):>17}: {document[f'{key}_per_flow']:>14,.0f}")
    print(f"  (hash: {document['hash_function']})")
    if args.annotate:
        print(f"\nthe {args.annotate} most costly functions (inclusive Ir)")
        print(annotate(document["dump"], args.annotate))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.mode == "serve":
        serve(args)
        return
    tools = () if args.profile else ("valgrind", "gcc", "callgrind_annotate")
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install -y valgrind gcc")
    workdir = Path(tempfile.mkdtemp(prefix="bench-activation-ir-"))
    args.port_base = _stack.free_port_base()
    try:
        if not args.profile:
            build_shim(workdir)
        document = measure(args, workdir)
        if args.profile:
            print_profile(args.profile, args.top)
        else:
            report(document, args)
    finally:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for dump in workdir.glob("*.callgrind*"):
                shutil.copy(dump, args.keep / dump.name)
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
