"""The broker's balance proxy (``GET /v1/balances``) as **instruction counts** (valgrind's
callgrind): the broker against the bare proxy (``bench._bare --proxy``, the floor of
``bench.balances``, D303), both in one run, on SQLite (default) or ``--postgres URL``.

``bench.balances`` gives the broker's CPU time per request over sockets, and on the
shared machines here that figure moves by 10-20 % from run to run. An instruction count
does not move with the machine's other load, so a change to the broker's own work can be
judged here in one run, and ``--annotate N`` says where the instructions go.

Set-up, as ``bench.balances`` does it: a fresh data directory (or the PostgreSQL
database given) with the ``up`` demo catalog whose Contoso MO API points at the MO
stand-in (``bench._mo_standin``, natively, not under valgrind, answering at once:
``--delay``); then, one server after the other, each under ``valgrind --tool=callgrind
--instr-atstart=no`` with the control port of ``bench.getbalance_instructions``:

- **bare-proxy**: ``bench._bare.proxy_app`` under uvicorn (uvloop, httptools, the
  broker's keep-alive), one aiohttp GET to the stand-in per request;
- **broker**: the broker as ``mobileplans serve broker`` builds and serves it
  (``MP_BALANCE_CACHE_SECONDS=0``, ``MP_URL_POLICY=local``), call records written in
  its batches as in production.

The client (this process) sends ``--warmup`` requests, zeroes the counters, sends
``--requests`` over ``--connections`` keep-alive connections (closed loop, 1,000
ICCIDs), dumps, then counts ``--idle`` seconds of idling to take the background work
(the broker's flushes and configuration polls) off. Every answer must be a 200.

    .venv/bin/python -m bench.balances_instructions [--requests 2000] [--warmup 300]
        [--connections 16] [--postgres URL] [--roles bare-proxy,broker] [--annotate 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.activation_instructions import _Control
from bench.getbalance_instructions import (
    HOST,
    annotate,
    bare_server,
    build_shim,
    command,
    counted_run,
    drive,
    measure_server,
    wait_ready,
)

ROLES = ("bare-proxy", "broker")


# --- the served process (under valgrind) --------------------------------------------------


def _bare_proxy_server(mo_base_url: str, port: int) -> Any:
    from bench._bare import proxy_app
    from mobileplans.web.server import KEEP_ALIVE_SECONDS

    app = proxy_app(mo_base_url)
    return bare_server(app, port, timeout_keep_alive=KEEP_ALIVE_SECONDS)


async def _serve(args: argparse.Namespace) -> None:
    import ctypes

    from mobileplans.web.server import Listener, make_server, serve_all

    shim = ctypes.CDLL(str(args.shim)) if args.shim else None
    loop = asyncio.get_running_loop()
    control = await loop.create_server(lambda: _Control(shim), HOST, args.control_port)
    try:
        if args.role == "bare-proxy":
            await serve_all([_bare_proxy_server(args.mo_base_url, args.port)])
            return
        from mobileplans.apps.broker.app import create_app
        from mobileplans.cli.runtime import database, ensure_admin_token, load_settings
        from mobileplans.kit import netguard

        settings = load_settings(args.data_dir)
        token, _ = ensure_admin_token(settings)
        netguard.enforce(strict=False)  # MP_URL_POLICY=local, as bench.balances
        async with database(settings, process_name="broker", upgrade=False, serving=True) as s:
            app = create_app(settings, s, admin_token=token)
            await serve_all([make_server(Listener("broker", app, HOST, args.port))])
    finally:
        control.close()


def serve(args: argparse.Namespace) -> None:
    from mobileplans.web.server import run_servers_forever

    run_servers_forever(_serve(args))


# --- the client (this process) ------------------------------------------------------------


def _command(
    role: str, args: argparse.Namespace, workdir: Path, ports: tuple[int, int]
) -> list[str]:
    command = [sys.executable, "-m", "bench.balances_instructions", "serve", "--role", role]
    command += ["--port", str(ports[0]), "--control-port", str(ports[1])]
    command += ["--mo-base-url", args.mo_base_url, "--data-dir", str(workdir / "data")]
    if args.profile:
        return command
    callgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    callgrind += [f"--callgrind-out-file={workdir / role}.callgrind"]
    return [*callgrind, *command, "--shim", str(workdir / "callgrind_shim.so")]


def measure(role: str, args: argparse.Namespace, workdir: Path, paths: list[str]) -> dict[str, Any]:
    from bench import _procs
    from bench.balances import env_for

    ports = (_procs.free_port(), _procs.free_port())
    served = _command(role, args, workdir, ports)
    if args.profile:
        return profiled(role, served, env_for(args), ports, args, workdir, paths)
    return measure_server(role, served, env_for(args), ports, args, workdir, paths)


def profiled(
    role: str,
    served: list[str],
    env: dict[str, str],
    ports: tuple[int, int],
    args: argparse.Namespace,
    workdir: Path,
    paths: list[str],
) -> dict[str, Any]:
    """``--profile DIR``: the server natively, ``cProfile`` (CPU time) over the measured
    requests into ``DIR/ROLE.prof``; the functions with the most own time printed."""
    import pstats

    from bench import _procs, _stack

    servers = _procs.Servers(workdir, pin=False)
    try:
        server = servers.start(role, served, ports[0], env=env, cwd=_stack.ROOT)
        asyncio.run(wait_ready(ports[0], paths[0], server.process, server.log_path))
        asyncio.run(drive(ports[0], paths, args.warmup, args.connections))
        asyncio.run(command(ports[1], "profile on"))
        measured = asyncio.run(drive(ports[0], paths, args.requests, args.connections))
        out = args.profile.resolve() / f"{role}.prof"
        args.profile.mkdir(parents=True, exist_ok=True)
        asyncio.run(command(ports[1], f"profile dump {out}"))
    finally:
        servers.stop_all()
    if set(measured) != {"200"}:
        raise RuntimeError(f"{role}: not all 200: {measured}")
    print(f"\n{role}: own CPU time per function over {args.requests} requests ({out})")
    pstats.Stats(str(out)).sort_stats("tottime").print_stats(args.annotate or 30)
    return {"profile": str(out)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    served = sub.add_parser("serve", help="(internal) one server, run under valgrind")
    served.add_argument("--role", choices=ROLES, required=True)
    served.add_argument("--port", type=int, required=True)
    served.add_argument("--control-port", type=int, required=True)
    served.add_argument("--shim", type=Path)
    served.add_argument("--mo-base-url", required=True)
    served.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--idle", type=float, default=6.0, help="seconds of idle counting (background work)"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="the stand-in's answer time, s")
    parser.add_argument("--postgres", help="on this PostgreSQL database (schema recreated)")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--annotate", type=int, default=0, help="top N functions per dump")
    parser.add_argument("--keep", type=Path, help="keep the dumps in this directory")
    parser.add_argument(
        "--profile", type=Path, help="natively, cProfile each role into DIR/ROLE.prof instead"
    )
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from bench import _procs, _stack
    from bench.balances import iccids, seed

    build_shim(workdir)
    mo_port = _procs.free_port()
    args.mo_base_url = f"http://{HOST}:{mo_port}/v1"
    seed(args, workdir / "data", workdir, mo_port)
    paths = [f"/v1/balances?iccid={i}" for i in iccids(1000)]
    document: dict[str, Any] = {"database": "PostgreSQL" if args.postgres else "SQLite"}
    document.update(requests=args.requests, warmup=args.warmup, connections=args.connections)
    servers = _procs.Servers(workdir, pin=False)
    try:
        command = [sys.executable, "-m", "bench._mo_standin", "--port", str(mo_port)]
        standin = servers.start(
            "standin", [*command, "--delay", str(args.delay)], mo_port, env=_stack.bench_env()
        )
        servers.wait_ready(standin, "/", 60)
        for role in args.roles.split(","):
            document[role] = measure(role, args, workdir, paths)
            if args.annotate and not args.profile:
                print(f"\n{role}: the {args.annotate} most costly functions (inclusive Ir)")
                print(annotate(document[role]["dump"], args.annotate))
    finally:
        servers.stop_all()
    if not args.profile and {"bare-proxy", "broker"} <= set(document):
        ratio = document["broker"]["per_request"] / document["bare-proxy"]["per_request"]
        document["broker_over_bare_proxy"] = ratio
    return document


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.mode == "serve":
        serve(args)
        return
    document = counted_run(args, "bench-balances-ir-", run)
    for role in ROLES:
        if role in document and "per_request" in document[role]:
            print(f"{role:>10}: {document[role]['per_request']:>10,.0f} instructions per request")
    if "broker_over_bare_proxy" in document:
        print(f"     ratio: {document['broker_over_bare_proxy']:.3f} (broker / bare proxy)")
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
