"""What a new mutual-TLS connection to an MO API costs the broker, against a call on a
kept-alive one (decision D273): the broker's MO client context (``client_ssl_context``
with the platform's client certificate) calling an aiohttp server on uvloop that
requires it, on loopback, with a local CA (``kit.certs.ensure_local_pki``).

    .venv/bin/python -m bench.mo_tls [--calls 500]

The figure is the client's CPU per call (``time.thread_time`` of its one thread, so the
machine's load counts little); the server runs in its own process, pinned to the other
core when it can be.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import uvloop

from bench import _procs
from mobileplans.domains.balance.mo_client import client_ssl_context
from mobileplans.kit.certs import LocalPki, ensure_local_pki
from mobileplans.kit.clock import SystemClock

BODY = b'{"balances": []}'


def serve(pki: LocalPki, port: int) -> None:
    from aiohttp import web

    from mobileplans.web.tls import server_ssl_context

    async def balances(_request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_get("/balances", balances)
    context = server_ssl_context(pki.server.cert_file, pki.server.key_file, pki.ca.cert_file)
    uvloop.install()
    web.run_app(app, host=_procs.HOST, port=port, ssl_context=context, print=None)


async def client(pki: LocalPki, port: int, calls: int) -> dict[str, float]:
    context = client_ssl_context(
        cert_file=str(pki.broker.cert_file),
        key_file=str(pki.broker.key_file),
        ca_file=str(pki.ca.cert_file),
    )
    url = f"https://localhost:{port}/balances"  # the server certificate names localhost
    found = {}
    for label, force_close in (("new_connection", True), ("kept_alive", False)):
        connector = aiohttp.TCPConnector(ssl=context, force_close=force_close)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(20):  # warm up
                async with session.get(url) as response:
                    await response.read()
            cpu = time.thread_time()
            for _ in range(calls):
                async with session.get(url) as response:
                    assert await response.read() == BODY
            found[f"{label}_cpu_ms_per_call"] = (time.thread_time() - cpu) * 1e3 / calls
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--pki", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(ensure_local_pki(args.pki, now=SystemClock().now()), args.serve)
        return 0
    pki_dir = Path(tempfile.mkdtemp(prefix="mp-bench-tls-"))
    pki = ensure_local_pki(pki_dir, now=SystemClock().now())
    port = _procs.free_port()
    command = [sys.executable, "-m", "bench.mo_tls", "--serve", str(port), "--pki", str(pki_dir)]
    server = subprocess.Popen(_procs.pinned(command, _procs.LOAD_CORE), env=os.environ.copy())
    try:
        deadline = time.monotonic() + 30
        while not _port_open(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the TLS server did not start")
            time.sleep(0.1)
        found = uvloop.run(client(pki, port, args.calls))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(pki_dir, ignore_errors=True)  # a throwaway CA and its keys
    for key, value in found.items():
        print(f"{key}: {value:.3f}")
    return 0


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((_procs.HOST, port)) == 0


if __name__ == "__main__":
    sys.exit(main())
