"""bench/activation.py's reading of the stack's counters and its per-flow figures."""

from __future__ import annotations

import asyncio

from rich.console import Console

from bench import activation
from mobileplans.simulator.endpoints import Endpoints
from mobileplans.simulator.runlog import ScenarioRun

METRICS = b"""# HELP mobileplans_password_hash_seconds_total CPU seconds
# TYPE mobileplans_password_hash_seconds_total counter
mobileplans_password_hash_seconds_total 1.5
mobileplans_password_hashes_total 30.0
mobileplans_http_requests_total{app="broker",method="GET",route="/v1/providers",status="200"} 40.0
mobileplans_http_requests_total{app="operator",method="POST",route="/x",status="303"} 2.0
mobileplans_http_requests_total_created{app="broker"} 1.7e9
mobileplans_sqlite_lock_waits_total 12.0
mobileplans_sqlite_lock_wait_seconds_total 0.25
"""


async def test_stack_counters_sum_labelled_series_over_a_real_socket() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(METRICS)}\r\nConnection: close\r\n\r\n".encode()
            + METRICS
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        counters = await activation.stack_counters(Endpoints(broker=f"http://127.0.0.1:{port}"))
    finally:
        server.close()
        await server.wait_closed()
    assert dict(zip(activation.COUNTERS, counters, strict=True)) == {
        activation.HASH_SECONDS: 1.5,
        activation.HASH_COUNT: 30.0,
        activation.REQUESTS: 42.0,  # both series; the _created gauge is another name
        activation.LOCK_WAITS: 12.0,
        activation.LOCK_WAIT_SECONDS: 0.25,
    }


def test_level_figures_per_flow() -> None:
    runs = [ScenarioRun("first-run-esim", "http", ms=100.0 + i) for i in range(9)]
    runs.append(ScenarioRun("first-run-esim", "http", error="telemetry: ReadError"))
    level = activation.Level(2, runs=runs, started=0.0, ended=10.0, idle_cpu_pct=2.0)
    level.server_cpu_s, level.hash_cpu_s, level.client_cpu_s = 1.0, 0.4, 5.0
    level.requests, level.lock_waits, level.lock_wait_s = 290.0, 30.0, 0.2
    split = level.cpu_split(10.0, 9)  # per flow run (10), the failed one included
    assert split["server_cpu_ms_per_flow"] == 100.0
    assert split["hash_cpu_ms_per_flow"] == 40.0
    assert split["outside_hash_cpu_ms_per_flow"] == 60.0
    assert round(split["idle_cpu_ms_per_flow"], 6) == 20.0  # 2 % of 10 s over 10 flows
    assert round(split["outside_hash_net_cpu_ms_per_flow"], 6) == 40.0
    assert split["http_requests_per_flow"] == 29.0
    assert split["sqlite_lock_waits_per_flow"] == 3.0
    assert round(split["sqlite_lock_wait_ms_per_flow"], 6) == 20.0
    assert split["bound_flows_per_s"] == 10.0  # 1000 ms / 100 ms per flow
    assert round(split["of_bound"], 6) == 0.09  # 9 ok flows in 10 s against 10 flows/s
    summary = level.summary()
    assert (summary["ok"], summary["failed"]) == (9, 1)
    assert summary["failures"] == {"telemetry: ReadError": 1}
    summary.update(load_before={"load1": 0.5}, load_after={"load1": 0.7})
    console = Console(width=200, record=True)
    console.print(activation.level_table([summary]))
    assert "3.0 (20.0)" in console.export_text()
