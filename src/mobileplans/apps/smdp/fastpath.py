"""A lean ASGI path in front of FastAPI for the SM-DP+'s request routes (decision D182).

FastAPI's routing, dependency resolution, middleware stack and response objects cost
more per request than the SM-DP+'s statements do (docs/performance.md, "Activation
flows"). This wrapper answers ``POST`` on

- ``/gsma/rsp2/es2plus/{downloadOrder,confirmOrder,cancelOrder,releaseProfile}`` (ES2+,
  SGP.22 5.3.1-5.3.4; esim-rsp 1.2-1.4),
- ``/rsp/device/v1/{initiateDownload,getBoundProfilePackage,handleNotification,
  cancelSession}`` (docs/activation.md "Device download interface"; esim-rsp 1.7),

with the routes' own functions (``routes.es2plus.answer``, ``routes.device.answer``): the
same body bytes, status (200, or 204 for a handled notification), headers in the same
order (``content-length``, ``content-type``), the same metrics (route template, status),
and Starlette's plain ``500 Internal Server Error`` if the work raises.
``tests/apps/smdp/test_fastpath.py`` compares both paths byte for byte.

Everything else (another method or path, an unsupported ES2+ function, ``/docs``,
``/metrics``, ``/healthz``, a mounted app) goes to FastAPI.
"""

from __future__ import annotations

import time
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from mobileplans.apps.smdp.routes import device, es2plus
from mobileplans.apps.smdp.state import SmdpState
from mobileplans.domains.smdp.es2plus import FUNCTIONS
from mobileplans.web.metrics import observe
from mobileplans.web.unavailable import answer_unavailable

ES2_PREFIX: Final = "/gsma/rsp2/es2plus/"
DEVICE_PREFIX: Final = "/rsp/device/v1/"
_JSON: Final = b"application/json"
_ERROR: Final = b"Internal Server Error"
_ERROR_HEADERS: Final = [
    (b"content-length", str(len(_ERROR)).encode()),
    (b"content-type", b"text/plain; charset=utf-8"),
]


class _Disconnected(Exception):
    """The client went away while sending its body (Starlette: ``ClientDisconnect``)."""


class SmdpFastPath:
    def __init__(self, app: ASGIApp, state: SmdpState) -> None:
        self.app = app
        self.state = state

    def _route(self, scope: Scope) -> str | None:
        """The route template this request would match in FastAPI, if answered here."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        if path.startswith(ES2_PREFIX) and path[len(ES2_PREFIX) :] in FUNCTIONS:
            return path
        if path.startswith(DEVICE_PREFIX) and path[len(DEVICE_PREFIX) :] in device.USE_CASES:
            return path
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered = False
        try:
            body = await _body(receive)
            status, data = await self._answer(route, scope, body)
            headers = [] if data is None else _json_headers(data)
            answered = True
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": data or b""})
        except Exception as exc:
            if not answered and await answer_unavailable(exc, scope, receive, send):
                status = 503  # the database is away: 503 + Retry-After (web.unavailable)
                return
            if not answered:  # as Starlette's ServerErrorMiddleware (debug off)
                status = 500
                start = {"type": "http.response.start", "status": 500, "headers": _ERROR_HEADERS}
                await send(start)
                await send({"type": "http.response.body", "body": _ERROR})
            raise
        finally:
            observe("smdp", "POST", route, status, time.perf_counter() - started)

    async def _answer(self, route: str, scope: Scope, body: bytes) -> tuple[int, bytes | None]:
        if route.startswith(ES2_PREFIX):  # SGP.22 5.3.1-5.3.4: always HTTP 200
            protocol = _header(scope, b"x-admin-protocol")
            content_type = _header(scope, b"content-type")
            function = route[len(ES2_PREFIX) :]
            return 200, await es2plus.answer(self.state, function, body, protocol, content_type)
        use_case = device.USE_CASES[route[len(DEVICE_PREFIX) :]]  # docs/activation.md
        data = await device.answer(self.state, use_case, body)
        return (204 if data is None else 200), data


def _json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON)]


async def _body(receive: Receive) -> bytes:
    """The request body, as Starlette's ``Request.body()`` reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise _Disconnected


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header ``name`` (lower case), as Starlette's ``Headers.get`` finds it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
