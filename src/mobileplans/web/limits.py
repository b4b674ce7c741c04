"""Request body size limit on every app (issue #11, D235; docs/security.md).

:class:`BodyLimit` wraps every part of an app that reads a request body, so no route
(FastAPI's or a fast path's) ever reads more than ``max_bytes`` of one: the whole app on
the SM-DP+ (its fast path reads device envelopes) and the console; behind the fast path on
the operator and the broker, whose fast paths answer GETs only and never read a body (a
device's request meets no wrapper before them, D304):

- a ``Content-Length`` above the limit: 413 ``application/problem+json`` at once, the body
  unread (the server discards it);
- a body without ``Content-Length`` (``Transfer-Encoding: chunked``): read here, up to
  the limit, then handed on as it came; one byte more and the answer is the same 413.

The limits: :data:`MAX_BODY_BYTES` (1 MiB) on the operator, the SM-DP+ and the console
(their largest documented bodies, ES2+ and device envelopes, are bounded at 64 KiB by
``domains.smdp.envelope``); the broker takes :data:`MAX_CONFIG_BODY_BYTES` (8 MiB), for
``PUT /v1/admin/config`` (a whole registry as YAML).
"""

from __future__ import annotations

from typing import ClassVar, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mobileplans.errors import AppError
from mobileplans.web.problems import problem_response

MAX_BODY_BYTES: Final = 1024 * 1024
MAX_CONFIG_BODY_BYTES: Final = 8 * 1024 * 1024


class PayloadTooLarge(AppError):
    status_code: ClassVar[int] = 413
    title: ClassVar[str] = "Request body too large"
    slug: ClassVar[str] = "payload-too-large"


def _body_headers(scope: Scope) -> tuple[int | None, bool]:
    """The request's ``Content-Length`` (None if absent or not a number) and whether it
    has a ``Transfer-Encoding``, in one pass over its headers."""
    length: int | None = None
    encoded = found = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and not found:
            found = True
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            encoded = True
    return length, encoded


class BodyLimit:
    """Answer 413 to any request whose body is larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, encoded = _body_headers(scope)
        if length is not None and length > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        if length is not None or not encoded:
            await self.app(scope, receive, send)  # the server delivers exactly that length
            return
        messages = await self._read(receive)
        if messages is None:
            await self._refuse(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> list[Message] | None:
        """The body's messages as received, or None once they pass the limit."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client left: the app sees it as it would have
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(
            f"the request body is larger than {self.max_bytes} bytes", limit=self.max_bytes
        )
        await problem_response(error, scope.get("path"))(scope, receive, send)
