"""A lean ASGI path in front of FastAPI for the operator's per-operator pages (D280).

FastAPI's middleware stack, its linear scan of the routes' patterns and its dependency
resolution cost more per request than most portal steps' own work (issue #8; a
first-run eSIM flow makes 14 portal requests, 3 ES2+ progress callbacks and a logo
request). This wrapper answers ``GET`` and ``POST`` on the app's own routes
``/{operator_id}/<fixed path>`` (the portal's steps, spec 2.1, 2.2, 5.11; the ES2+
``handleDownloadProgressInfo`` callback, SGP.22 5.3.5; the static assets, spec 3.3)
with the same endpoint functions, their parameters provided as the dependencies in
``deps.py`` and ``routes.portal.web`` provide them:

- ``Request`` (the request), ``State``, ``Site`` (``state.site(operator_id)``),
  ``PortalDep`` (``Portal(request, site, state)``), ``Tx`` (``Transactions``);
- ``Step`` (``state.steps.step()``: one transaction, on the driver where the engine has
  a driver kind, D297), ``Session`` (``session_scope``) and ``DbReads``
  (``state.reads.hold()``) entered in the parameters' order and left in reverse after
  the endpoint returns, before the answer is sent (FastAPI's ``scope="function"``).

An exception is answered by the app's own exception handlers (looked up as Starlette's
``ExceptionMiddleware`` does: a ``HTTPException``'s status first, then the exception's
classes in order); one with no handler propagates (the server's 500). The request's
scope carries the matched route, ``path_params``, the app and its router, so the
metrics (route template) and ``request.app`` read as under FastAPI.

A route is taken only when FastAPI itself would pick it for that path (checked when the
table is built) and every parameter is one of the above; everything else (another
method, a path with more parameters, ``HEAD``, ``/docs``, ``/metrics``, ``/healthz``, an
operator id that is a fixed first segment of another route) goes to FastAPI.
``tests/apps/operator/test_portal_path.py`` compares both paths.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from mobileplans.apps.operator.routes.portal.web import Portal
from mobileplans.apps.operator.state import OperatorState
from mobileplans.db.session import session_scope
from mobileplans.db.transactions import Transactions

PREFIX = "/{operator_id}/"
PLAIN = frozenset({"Request", "State", "Site", "PortalDep", "Tx"})
"""Parameters made without entering anything (by their annotation's name)."""
ENTERED = frozenset({"Session", "Step", "DbReads"})
"""Parameters that are a context entered around the endpoint."""


class _Entry:
    """One route answered here: its endpoint and what each parameter is."""

    __slots__ = ("endpoint", "params", "route")

    def __init__(self, route: APIRoute, params: list[tuple[str, str]]) -> None:
        self.route = route
        self.endpoint: Callable[..., Awaitable[Response]] = route.endpoint
        self.params = params


class PortalPath:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.state: OperatorState = app.state.operator
        self._table: dict[tuple[str, str], _Entry] | None = None
        self._fixed: frozenset[str] = frozenset()
        self._handlers: dict[Any, Callable[..., Any]] = {}

    def _build(self) -> dict[tuple[str, str], _Entry]:
        table: dict[tuple[str, str], _Entry] = {}
        try:
            leaves = list(_routes(self.app.router))
        except _Prefixed:
            return table
        routes = [route for route, _ in leaves]
        for route, plain in leaves:
            entry = _entry(route) if plain else None
            if entry is None:
                continue
            rest = route.path[len(PREFIX) :]
            for method in sorted(set(route.methods) & {"GET", "POST"}):
                if (method, rest) not in table and _first(routes, method, rest) is route:
                    table[(method, rest)] = entry
        self._fixed = frozenset(_fixed_first_segments(routes))
        handlers = self.app.exception_handlers
        if 500 in handlers or Exception in handlers:
            return {}  # a 500 handler of the app's own: everything to FastAPI
        self._handlers = dict(handlers)
        return table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        table = self._table
        if table is None:
            table = self._table = self._build()
        entry = operator_id = None
        if scope["type"] == "http" and not scope.get("root_path"):
            path: str = scope["path"]
            cut = path.find("/", 1)
            if cut > 1:
                operator_id = path[1:cut]
                entry = table.get((scope["method"], path[cut + 1 :]))
        if entry is None or operator_id is None or operator_id in self._fixed:
            await self.app(scope, receive, send)
            return
        scope["app"], scope["router"] = self.app, self.app.router
        scope["route"], scope["endpoint"] = entry.route, entry.endpoint
        scope["path_params"] = {"operator_id": operator_id}
        request = Request(scope, receive, send)
        try:
            try:
                response = await self._answer(entry, request, operator_id)
            except Exception as exc:
                response = await self._handled(request, exc)
        except Exception:  # as Starlette's ServerErrorMiddleware (no 500 handler, no debug)
            await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise
        await response(scope, receive, send)

    async def _answer(self, entry: _Entry, request: Request, operator_id: str) -> Response:
        state = self.state
        site = None
        async with contextlib.AsyncExitStack() as stack:
            args: dict[str, Any] = {}
            for name, kind in entry.params:
                if kind == "Request":
                    args[name] = request
                elif kind == "State":
                    args[name] = state
                elif kind == "Tx":
                    args[name] = Transactions(state.sessions)
                elif kind == "Step":
                    args[name] = await stack.enter_async_context(state.steps.step())
                elif kind == "Session":
                    args[name] = await stack.enter_async_context(session_scope(state.sessions))
                elif kind == "DbReads":
                    args[name] = await stack.enter_async_context(state.reads.hold())
                else:  # Site, PortalDep
                    site = site or state.site(operator_id)
                    args[name] = site if kind == "Site" else Portal(request, site, state)
            return await entry.endpoint(**args)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The app's exception handler's answer, as Starlette's ExceptionMiddleware."""
        handler = None
        if isinstance(exc, HTTPException):
            handler = self._handlers.get(exc.status_code)
        if handler is None:
            for kind in type(exc).__mro__:
                if kind in self._handlers:
                    handler = self._handlers[kind]
                    break
        if handler is None:
            raise exc
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        assert isinstance(response, Response)
        return response


def _entry(route: Any) -> _Entry | None:
    """What each parameter of ``route``'s endpoint is, if it is answered here."""
    if not isinstance(route, APIRoute) or not route.path.startswith(PREFIX):
        return None
    rest = route.path[len(PREFIX) :]
    if "{" in rest or route.dependencies or route.response_model is not None:
        return None
    if not inspect.iscoroutinefunction(route.endpoint):
        return None
    params: list[tuple[str, str]] = []
    for name, parameter in inspect.signature(route.endpoint).parameters.items():
        kind = parameter.annotation
        kind = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
        if kind not in PLAIN | ENTERED:
            return None
        params.append((name, kind))
    return _Entry(route, params)


def _routes(router: Any, plain: bool = True) -> Iterator[tuple[Any, bool]]:
    """The leaf routes in matching order through included routers, each with whether
    every router that includes it adds no dependencies (else it goes to FastAPI)."""
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is None:
            yield route, plain
            continue
        context = route.include_context
        if context.prefix:
            raise _Prefixed
        yield from _routes(inner, plain and not context.dependencies)


class _Prefixed(Exception):
    """A router included under a prefix: its routes' paths are not their own (the table
    is left empty, every request goes to FastAPI)."""


def _first(routes: list[Any], method: str, rest: str) -> Any:
    """The route matched first for ``method /x/rest``."""
    scope = {"type": "http", "method": method, "path": f"/x/{rest}", "root_path": ""}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def _fixed_first_segments(routes: list[Any]) -> set[str]:
    """First path segments that are fixed in some route (``/docs``, ``/healthz``, ...)."""
    segments = set()
    for route in routes:
        first = getattr(route, "path", "/").split("/", 2)[1]
        if first and "{" not in first:
            segments.add(first)
    return segments
