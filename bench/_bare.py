"""A bare ASGI callable (no framework) that answers every request with fixed bytes.

Served by uvicorn with the broker's flags (uvloop, httptools, no access log), it is
the ceiling the broker's ``GET /v1/sims/{iccid}`` is compared against.

    python -m bench._bare --port 8000 --body-file body.json [--loop asyncio]
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def make_app(body: bytes, content_type: bytes = b"application/json") -> Any:
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    }
    message = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(start)
        await send(message)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop (asyncio: the stdlib loop, to show what uvloop buys)",
    )
    args = parser.parse_args()
    # The same settings as mobileplans.web.server.make_server uses for the broker.
    uvicorn.run(
        make_app(args.body_file.read_bytes()),
        host=args.host,
        port=args.port,
        loop=args.loop,
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
