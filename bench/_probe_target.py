"""The prober benchmark's target: a bare asyncio (uvloop) HTTP/1.1 server, keep-alive.

Every request (any method, any path) gets ``200`` and a small valid GetBalance body, so
portal and GetBalance probes both succeed. A request with ``Connection: close`` (the soak's
fault proxy sends one exchange per connection) is answered, then the connection closed. No
framework, no parsing beyond finding the end of each request head: its own cost stays far
below the prober's.

    python -m bench._probe_target --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

BODY = b'{"balances":[{"type":"MODIRECTPAYG","dataRemaininginMB":1.0,"timeRemaining":"P1D"}]}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"Keep-Alive: timeout=120\r\n"
    b"\r\n" + BODY
)


class Answer(asyncio.Protocol):
    """Answers each request head (``\\r\\n\\r\\n``) as it arrives; requests carry no body."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.pending + data
        heads = buffer.count(b"\r\n\r\n")
        if heads and self.transport is not None:
            self.transport.write(RESPONSE * heads)
            if b"connection: close" in buffer.lower():  # a proxy's one-exchange connection
                self.transport.close()
        self.pending = buffer[buffer.rfind(b"\r\n\r\n") + 4 :] if heads else buffer


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Answer, host, port, backlog=4096)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args.host, args.port))


if __name__ == "__main__":
    main()
