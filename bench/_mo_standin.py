"""An operator's MO API stand-in for the balance-proxy benchmark: answers every GetBalance
(spec 2.3) after a fixed delay with a valid body, echoing ``X-MS-DM-TransactionId``.

aiohttp on uvloop, no access log. Its own latency is measured in the same bench run
(the load generator calls it directly), so the broker's share can be told apart.

It also keeps, per transaction id, how long it held each request: from its handler
being called to the answer written (``time.perf_counter``), served as JSON by
``GET /timings`` (``?clear=1`` empties the record). ``bench/balances.py`` pairs each
broker request with the stand-in's time for that same request (the broker's answer
carries the ``msTransactionId`` it sent upstream).

    python -m bench._mo_standin --port 9301 --delay 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import time

import orjson
import uvloop
from aiohttp import web

BODY = orjson.dumps(
    {
        "balances": [
            {
                "id": "1",
                "type": "MODIRECTPAYG",
                "dataRemaininginMB": 1536.0,
                "timeRemaining": "P23DT23H",
            }
        ]
    }
)
HEADER = "X-MS-DM-TransactionId"
KEPT = 200_000
"""Timings kept at most (the oldest are dropped first): 200 s at 1,000 requests/s."""


def make_app(delay: float) -> web.Application:
    held: dict[str, float] = {}

    async def balances(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        transaction = request.headers.get(HEADER, "")
        await asyncio.sleep(delay)
        response = web.Response(
            body=BODY, content_type="application/json", headers={HEADER: transaction}
        )
        await response.prepare(request)
        await response.write_eof()
        if transaction:
            if len(held) >= KEPT:
                del held[next(iter(held))]
            held[transaction.strip('"')] = (time.perf_counter() - started) * 1000.0
        return response

    async def timings(request: web.Request) -> web.Response:
        body = orjson.dumps(held)
        if request.query.get("clear"):
            held.clear()
        return web.Response(body=body, content_type="application/json")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/v1/sims/{sim_id}/balances", balances)
    app.router.add_get("/timings", timings)
    app.router.add_get("/", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before each answer")
    args = parser.parse_args()
    uvloop.install()
    web.run_app(
        make_app(args.delay),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
