"""The broker's MO API client over a real socket: what it sends (spec 2.3, 2.9)."""

from __future__ import annotations

import asyncio
import json

from mobileplans.domains.balance.mo_client import MoApiClient

BODY = json.dumps({"balances": [{"type": "PAYG", "dataRemainingInMB": 512}]}).encode()


async def test_operator_cookies_are_never_kept_or_sent_back() -> None:
    """An MO API that sets a cookie gets no ``Cookie`` header on the next GetBalance (by
    name: a client jar ignores cookies of IP literals anyway): the
    platform's client carries no state from one subscriber's call to the next."""
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: both calls may come on one connection
            try:
                heads.append(await reader.readuntil(b"\r\n\r\n"))
            except asyncio.IncompleteReadError:
                break
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Set-Cookie: session=subscriber-a; Path=/\r\n"
                + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
                + BODY
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = MoApiClient(timeout_seconds=2)
    try:
        for iccid in ("8901999099999990029", "8901999099999990037"):
            call = await client.get_balances(
                f"http://localhost:{port}/v1", iccid, transaction_id="MSFT-x"
            )
            assert call.outcome == "ok", call.detail
    finally:
        await client.close()
        server.close()
        await server.wait_closed()
    assert len(heads) == 2
    assert b"/v1/sims/iccid%3A8901999099999990037/balances" in heads[1]
    assert b'x-ms-dm-transactionid: "msft-x"' in heads[1].lower()
    assert not any(b"\r\ncookie:" in head.lower() for head in heads)
