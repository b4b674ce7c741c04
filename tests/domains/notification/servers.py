"""Real receivers on 127.0.0.1 for notification tests: an SMTP server (aiosmtpd, in its
own thread and event loop) and a webhook endpoint (aiohttp.web, in the test's loop)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from tests.support import free_port


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SmtpHandler:
    """Records accepted messages. ``refuse`` answers RCPT for an address (e.g. "550 …").

    ``data_delay`` delays every answer to DATA. With ``accept_limit`` set, once that many
    messages were accepted, further DATA answers wait until ``gate`` is set: the client
    sending them has no answer yet (``waiting`` counts them). A message counts as accepted
    only if its client is still connected when the 250 is sent.
    """

    refuse: dict[str, str] = field(default_factory=dict)
    data_delay: float = 0.0
    accept_limit: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    accepted: list[Mail] = field(default_factory=list)
    waiting: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        answer = self.refuse.get(address)
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self._held():
            self.waiting += 1
            try:
                # the gate is a threading.Event set from the test's thread
                while self._held() and _connected(server):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            finally:
                self.waiting -= 1
        if not _connected(server):
            return "421 client gone"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.accepted.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def _held(self) -> bool:
        limit = self.accept_limit
        return limit is not None and len(self.accepted) >= limit and not self.gate.is_set()


def _connected(server: Any) -> bool:
    transport = server.transport
    return transport is not None and not transport.is_closing()


class SmtpServer:
    def __init__(self, handler: SmtpHandler) -> None:
        self.handler = handler
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.gate.set()
        self.controller.stop()

    @property
    def accepted(self) -> list[Mail]:
        return self.handler.accepted


@dataclass(frozen=True)
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Records every POST; answers the queued ``statuses`` in turn, then 200 (or
    ``default_status``). ``on_request`` runs before answering (tests move clocks there);
    ``hang`` makes it wait for ``release`` before answering."""

    def __init__(self) -> None:
        self.requests: list[Hook] = []
        self.statuses: list[int] = []
        self.default_status = 200
        self.on_request: Callable[[Hook], None] | None = None
        self.hang = False
        self.release = asyncio.Event()
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        hook = Hook(request.path_qs, dict(request.headers), await request.read())
        self.requests.append(hook)
        if self.on_request is not None:
            self.on_request(hook)
        if self.hang:
            await asyncio.wait_for(self.release.wait(), timeout=30)
        status = self.statuses.pop(0) if self.statuses else self.default_status
        return web.Response(status=status, text=f"answer {status}")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()
