"""An operator's MO API stand-in for the balance-proxy benchmark: answers every GetBalance
(spec 2.3) after a fixed delay with a valid body, echoing ``X-MS-DM-TransactionId``.

aiohttp on uvloop, no access log. Its own latency is measured in the same bench run
(the load generator calls it directly), so the broker's share can be told apart.

    python -m bench._mo_standin --port 9301 --delay 0.2
"""

from __future__ import annotations

import argparse
import asyncio

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


def make_app(delay: float) -> web.Application:
    async def balances(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        headers = {HEADER: request.headers.get(HEADER, "")}
        return web.Response(body=BODY, content_type="application/json", headers=headers)

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/v1/sims/{sim_id}/balances", balances)
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
