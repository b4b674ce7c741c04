"""The MO API client's outcome for each fault (docs/monitoring.md "Outcomes"), through the
fault proxy to a real HTTP server: the same classification as the probes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from mobileplans.domains.balance.mo_client import MoApiClient
from tests.faults.proxy import Fault, FaultProxy

BODY = json.dumps({"balances": [{"type": "PAYG", "dataRemainingInMB": 512}]}).encode()


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n".encode()
            + BODY
        )
        await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    async with FaultProxy(server.sockets[0].getsockname()[1]) as proxy:
        yield proxy
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        (Fault.PASS, "ok"),
        (Fault.WRONG_TYPE, "ok"),  # read by content (D230)
        (Fault.REFUSE, "connect_error"),
        (Fault.RESET, "connect_error"),
        (Fault.TRUNCATE, "bad_body"),  # a truncated answer, as the probes count it (D234)
        (Fault.GARBAGE, "bad_body"),  # no status line: a malformed answer
        (Fault.DELAY, "timeout"),
    ],
)
async def test_each_fault_has_its_documented_outcome(
    proxy: FaultProxy, fault: Fault, outcome: str
) -> None:
    proxy.set(fault, reset_after=10, truncate_after=5, delay_seconds=3, garbage_bytes=200)
    client = MoApiClient(timeout_seconds=0.5)
    try:
        call = await client.get_balances(
            f"{proxy.url()}/v1", "8901999099999990029", transaction_id="MSFT-x"
        )
    finally:
        await client.close()
    assert call.outcome == outcome, call.detail
    assert (call.balances != []) == (outcome == "ok")
