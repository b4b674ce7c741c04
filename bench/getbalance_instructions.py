"""GetBalance's CPU per request as **instruction counts** (valgrind's callgrind): the
reference operator against the bare ASGI baseline (``bench._bare``), both in one run,
on SQLite (default) or ``--postgres URL``. Unlike ``bench.getbalance``'s CPU time per
request, an instruction count does not move with the machine's other load (issue #8).

Set-up: a fresh database in a temporary directory with Contoso's demo plans and
``--iccids`` lines with a prepaid balance (``bench._mo_seed``); then, one server after
the other, each under ``valgrind --tool=callgrind --instr-atstart=no``:

- **bare**: ``bench._bare.database_app`` under uvicorn (uvloop, httptools), as
  ``bench.getbalance`` runs it;
- **operator**: the operator app as ``mobileplans serve operator`` builds and serves it
  (``cli.runtime.database(serving=True)``, ``apps.operator.app.create_app``,
  ``web.server.make_server``), with the sites of ``up`` and the rate limit raised out of
  the way (``bench.getbalance.operator_config_file``).

Each server also listens on a control port (a raw asyncio server, not in the measured
app's path) that calls callgrind's client requests through a tiny C shim built here with
``gcc`` and ``<valgrind/callgrind.h>``: ``start`` (instrumentation on), ``zero``,
``dump``. The client (this process, not under valgrind) sends ``--warmup`` GetBalance
requests, zeroes the counters, sends ``--requests`` requests over ``--connections``
keep-alive connections (closed loop, ICCIDs shuffled, the quoted
``X-MS-DM-TransactionId`` of ``bench.getbalance``), and dumps: the dump's total of
instructions (Ir) over the requests is the figure. Every answer must be a 200.

    .venv/bin/python -m bench.getbalance_instructions [--requests 2000] [--warmup 300]
        [--connections 16] [--postgres URL] [--roles bare,operator] [--annotate 40]
        [--keep DIR] [--json PATH]

``--annotate N`` prints the N most costly functions (inclusive) of each dump
(``callgrind_annotate``); ``--keep DIR`` keeps the dumps there. Needs ``valgrind``
(``callgrind_annotate``) and ``gcc`` with the valgrind headers
(``apt-get install valgrind gcc``).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HOST = "127.0.0.1"
TRANSACTION = '"MSFT-00000000-0000-4000-8000-000000000000"'
ROLES = ("bare", "operator")
SHIM_C = r"""
#include <valgrind/callgrind.h>
void mp_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void mp_zero(void) { CALLGRIND_ZERO_STATS; }
void mp_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def build_shim(directory: Path) -> Path:
    """The C shim whose functions are callgrind's client requests (no-ops natively)."""
    source, library = directory / "callgrind_shim.c", directory / "callgrind_shim.so"
    source.write_text(SHIM_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


# --- the served process (under valgrind) --------------------------------------------------


class _Control(asyncio.Protocol):
    """One line in (``start``, ``zero``, ``dump NAME``), ``ok`` out."""

    def __init__(self, shim: Any) -> None:
        self.shim = shim
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        command, _, name = data.decode().strip().partition(" ")
        if command == "start":
            self.shim.mp_start()
        elif command == "zero":
            self.shim.mp_zero()
        elif command == "dump":
            self.shim.mp_dump(name.encode())
        assert self.transport is not None
        self.transport.write(b"ok\n")


def bare_server(app: Any, port: int, **options: Any) -> Any:
    """A bare ASGI ``app`` served as ``bench._bare`` serves it (uvloop, httptools, no
    access log); ``options`` go to ``uvicorn.Config``."""
    import uvicorn

    from mobileplans.web.server import _Server

    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
        **options,
    )
    return _Server(config)


async def _serve(args: argparse.Namespace) -> None:
    from mobileplans.web.server import Listener, make_server, serve_all

    shim = ctypes.CDLL(str(args.shim))
    loop = asyncio.get_running_loop()
    control = await loop.create_server(lambda: _Control(shim), HOST, args.control_port)
    try:
        if args.role == "bare":
            from bench._bare import database_app

            await serve_all([bare_server(database_app(args.database), args.port)])
            return
        from mobileplans.apps.operator.app import create_app
        from mobileplans.cli.runtime import database, load_settings
        from mobileplans.cli.serve_cmd import _operator_config

        settings = load_settings(args.data_dir)
        async with database(settings, process_name="operator", upgrade=False, serving=True) as s:
            app = create_app(_operator_config(args.config), s)
            await serve_all([make_server(Listener("operator", app, HOST, args.port))])
    finally:
        control.close()


def serve(args: argparse.Namespace) -> None:
    from mobileplans.web.server import run_servers_forever

    run_servers_forever(_serve(args))


# --- the client (this process) ------------------------------------------------------------


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    found = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    body = await reader.readexactly(int(found.group(1))) if found else b""
    return status, body


async def drive(port: int, paths: list[str], count: int, connections: int) -> dict[str, int]:
    """``count`` GETs over ``connections`` keep-alive connections, each sending its next
    request when the previous answer is in; the statuses counted."""
    host = f"Host: {HOST}:{port}\r\nX-MS-DM-TransactionId: {TRANSACTION}\r\n\r\n"
    requests = [f"GET {p} HTTP/1.1\r\n{host}".encode() for p in paths]
    statuses: dict[str, int] = {}
    sent = iter(range(count))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for n in sent:
                status, _ = await _request(reader, writer, requests[n % len(requests)])
                statuses[str(status)] = statuses.get(str(status), 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(connections, count))))
    return statuses


async def command(port: int, line: str) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(line.encode() + b"\n")
    await writer.drain()
    if await reader.readline() != b"ok\n":
        raise RuntimeError(f"control command {line!r} not acknowledged")
    writer.close()


async def wait_ready(
    port: int, path: str, process: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + 900  # imports under valgrind are slow
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{_tail(log_path)}")
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nX-MS-DM-TransactionId: {TRANSACTION}"
        status, body = await _request(reader, writer, (request + "\r\n\r\n").encode())
        writer.close()
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}: {body[:300]!r}")
        return
    raise TimeoutError(f"server not ready:\n{_tail(log_path)}")


def _tail(path: Path) -> str:
    return path.read_text()[-3000:]


def total_instructions(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


# --- one server ---------------------------------------------------------------------------


def _server_command(
    role: str, args: argparse.Namespace, workdir: Path, ports: tuple[int, int]
) -> list[str]:
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    command += [f"--callgrind-out-file={workdir / role}.callgrind"]
    command += [sys.executable, "-m", "bench.getbalance_instructions", "serve", "--role", role]
    command += ["--port", str(ports[0]), "--control-port", str(ports[1])]
    command += ["--shim", str(workdir / "callgrind_shim.so"), "--database", args.url]
    if role == "operator":
        command += ["--config", str(workdir / "operator.yaml"), "--data-dir", str(workdir / "data")]
    return command


def measure(role: str, args: argparse.Namespace, workdir: Path, paths: list[str]) -> dict[str, Any]:
    from bench import _procs, _stack

    ports = (_procs.free_port(), _procs.free_port())
    env = _stack.bench_env({"MP_DATABASE_URL": args.url} if role == "operator" else None)
    served = _server_command(role, args, workdir, ports)
    return measure_server(role, served, env, ports, args, workdir, paths)


def measure_server(
    role: str,
    served: list[str],
    env: dict[str, str],
    ports: tuple[int, int],
    args: argparse.Namespace,
    workdir: Path,
    paths: list[str],
) -> dict[str, Any]:
    """Start ``served`` (a server under callgrind answering on ``ports[0]``, its control
    port on ``ports[1]``), warm it up, count ``args.requests`` requests and then
    ``args.idle`` seconds of idling; the instructions per request, idle rate taken off."""
    from bench import _stack

    log_path = workdir / f"{role}.log"
    log(f"{role}: starting under callgrind (imports take a while)")
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            served,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=_stack.ROOT,
            start_new_session=True,
        )
    try:
        asyncio.run(wait_ready(ports[0], paths[0], process, log_path))
        asyncio.run(command(ports[1], "start"))
        warm = asyncio.run(drive(ports[0], paths, args.warmup, args.connections))
        asyncio.run(command(ports[1], "zero"))
        shuffled = paths[args.warmup % len(paths) :] + paths[: args.warmup % len(paths)]
        started = time.monotonic()
        measured = asyncio.run(drive(ports[0], shuffled, args.requests, args.connections))
        seconds = time.monotonic() - started
        asyncio.run(command(ports[1], "dump measured"))
        asyncio.run(command(ports[1], "zero"))
        time.sleep(args.idle)
        asyncio.run(command(ports[1], "dump idle"))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=300)
    if set(warm) | set(measured) != {"200"}:
        raise RuntimeError(f"{role}: not all 200: warm-up {warm}, measured {measured}")
    return _counted(role, args, workdir, seconds)


def _counted(role: str, args: argparse.Namespace, workdir: Path, seconds: float) -> dict[str, Any]:
    dumps = {trigger(p): p for p in workdir.glob(f"{role}.callgrind*")}
    instructions = total_instructions(dumps["measured"])
    idle_rate = total_instructions(dumps["idle"]) / args.idle
    net = instructions - idle_rate * seconds
    result = {"instructions": instructions, "seconds": seconds, "idle_per_second": idle_rate}
    result.update(per_request=net / args.requests, raw_per_request=instructions / args.requests)
    result["dump"] = str(dumps["measured"])
    log(
        f"{role}: {result['per_request']:,.0f} instructions per request "
        f"({result['raw_per_request']:,.0f} before taking off {idle_rate:,.0f}/s idle "
        f"over {seconds:.1f} s)"
    )
    return result


def trigger(dump: Path) -> str:
    """The name a dump was made under (``dump NAME``), or ``exit``."""
    with dump.open() as lines:
        for line in lines:
            if line.startswith("desc: Trigger:"):
                return line.split()[-1] if "Client Request" in line else "exit"
    return "exit"


def annotate(dump: str, lines: int) -> str:
    done = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
        capture_output=True,
        text=True,
        check=True,
    )
    body = done.stdout.split("file:function", 1)[-1].splitlines()
    return "\n".join(body[1 : lines + 1])


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    served = sub.add_parser("serve", help="(internal) one server, run under valgrind")
    served.add_argument("--role", choices=ROLES, required=True)
    served.add_argument("--port", type=int, required=True)
    served.add_argument("--control-port", type=int, required=True)
    served.add_argument("--shim", type=Path, required=True)
    served.add_argument("--database", required=True)
    served.add_argument("--config", type=Path)
    served.add_argument("--data-dir", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--idle", type=float, default=6.0, help="seconds of idle counting (background work)"
    )
    parser.add_argument("--iccids", type=int, default=1000)
    parser.add_argument("--postgres", help="on this PostgreSQL database (schema recreated)")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--annotate", type=int, default=0, help="top N functions per dump")
    parser.add_argument("--keep", type=Path, help="keep the dumps in this directory")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from bench._mo_seed import OPERATOR
    from bench._stack import free_port_base
    from bench.getbalance import operator_config_file, seed

    (workdir / "data").mkdir(parents=True)
    db = workdir / "data" / "mobileplans.db"
    args.url = args.postgres or f"sqlite+aiosqlite:///{db}"
    build_shim(workdir)
    operator_config_file(free_port_base(), workdir / "operator.yaml")
    iccids = random.Random(4).sample(seed(args.url, workdir, args.iccids), args.iccids)
    paths = [f"/{OPERATOR}/api/v1/sims/iccid:{i}/balances?fieldsTemplate=basic" for i in iccids]
    document: dict[str, Any] = {"database": "PostgreSQL" if args.postgres else "SQLite"}
    document.update(requests=args.requests, warmup=args.warmup, connections=args.connections)
    for role in args.roles.split(","):
        document[role] = measure(role, args, workdir, paths)
        if args.annotate:
            print(f"\n{role}: the {args.annotate} most costly functions (inclusive Ir)")
            print(annotate(document[role]["dump"], args.annotate))
    if "bare" in document and "operator" in document:
        document["ratio"] = document["bare"]["per_request"] / document["operator"]["per_request"]
    return document


def counted_run(
    args: argparse.Namespace,
    prefix: str,
    run: Callable[[argparse.Namespace, Path], dict[str, Any]],
) -> dict[str, Any]:
    """Check the tools, ``run`` in a fresh work directory, copy its dumps to ``--keep``
    if given, and remove the directory whatever happened."""
    for tool in ("valgrind", "gcc", "callgrind_annotate"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install -y valgrind gcc")
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return run(args, workdir)
    finally:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for dump in workdir.glob("*.callgrind*"):
                shutil.copy(dump, args.keep / dump.name)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.mode == "serve":
        serve(args)
        return
    document = counted_run(args, "bench-getbalance-ir-", run)
    for role in ROLES:
        if role in document:
            print(f"{role:>9}: {document[role]['per_request']:>10,.0f} instructions per request")
    if "ratio" in document:
        print(f"    ratio: {document['ratio']:.3f} (bare / operator)")
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
