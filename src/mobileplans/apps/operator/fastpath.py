"""A lean ASGI path for the MO API (spec 2.3 GetBalance, 2.6 GetOffers, 2.7
GetNotifications), in front of FastAPI.

FastAPI's routing, dependency resolution and response objects cost more per request
than the two indexed reads of a GetBalance (docs/performance.md, "GetBalance load").
This wrapper answers ``GET /{operatorId}/api/v1/sims/{simId}/{balances|offers|
notifications}`` itself, with the same steps in the same order as the FastAPI routes
and the same functions: ``mo_request.admit`` (mutual TLS 401/403, rate limit 429 +
``Retry-After``, the ``X-MS-DM-TransactionId`` check), then the routes' ``answer_*``
(parameters, 400 naming ``field``, 404 unknown SIM, the body); errors rendered by
``web.problems.problem_response`` with the request path as ``instance``; the
transaction id echoed verbatim on every response; the same metrics (route template,
status). ``tests/apps/operator/test_mo_fastpath.py`` compares both paths byte for byte
over the positive and negative cases.

Anything else (another method or path, an operator not hosted here) goes to FastAPI.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.datastructures import URL
from starlette.types import ASGIApp, Receive, Scope, Send

from mobileplans.apps.operator.mo_request import TRANSACTION_HEADER, Query, QueryValues, admit
from mobileplans.apps.operator.routes import moapi
from mobileplans.apps.operator.state import OperatorState
from mobileplans.config import OperatorSite
from mobileplans.db.reads import Reads, SqliteReads
from mobileplans.errors import AppError, BadRequest
from mobileplans.kit.clock import Clock
from mobileplans.kit.identifiers import IdentifierError
from mobileplans.web.metrics import RouteTally
from mobileplans.web.problems import problem_response

Answer = Callable[[OperatorSite, Clock, Reads, str, QueryValues], Awaitable[bytes]]

_PREFIX: Final = "/{operator_id}/api/v1/sims/"
ROUTES: Final[dict[str, tuple[str, Answer]]] = {
    "balances": (_PREFIX + "{simId}/balances", moapi.answer_balance),
    "offers": (_PREFIX + "{simmri}/offers", moapi.answer_offers),
    "notifications": (_PREFIX + "{simmri}/notifications", moapi.answer_notifications),
}
_TRANSACTION: Final = TRANSACTION_HEADER.lower().encode("latin-1")
_JSON: Final = [
    *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in moapi.JSON_HEADERS.items())
]
_CONTENT_TYPE: Final = (b"content-type", b"application/json")
QUERY_CACHE: Final = 256
"""Distinct query strings kept parsed (cleared when full)."""


class MoApiFastPath:
    def __init__(self, behind: ASGIApp, state: OperatorState) -> None:
        self.behind = behind  # what answers everything else (FastAPI)
        self.state = state
        self.metrics = RouteTally("operator")  # web.metrics.observe, tallied (D190)
        self._queries: dict[bytes, Query] = {}
        self._sites: dict[str, OperatorSite] = {}
        self._config: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope)
        if route is None:
            await self.behind(scope, receive, send)
            return
        template, answer, site, sim_id = route
        started = time.perf_counter()
        status, state = 500, self.state
        transaction_id = _first_header(scope, _TRANSACTION)
        try:
            try:
                admit(site, state, scope, transaction_id)
                query = self._query(scope["query_string"])
                reads = state.reads
                if type(reads) is SqliteReads:  # one connection: nothing to hold per request
                    body = await answer(site, state.clock, reads, sim_id, query)
                else:
                    async with reads.hold() as held:
                        body = await answer(site, state.clock, held, sim_id, query)
                status = 200
                headers = [*_JSON, (b"content-length", b"%d" % len(body)), _CONTENT_TYPE]
            except (AppError, IdentifierError) as exc:
                status, headers, body = _problem(exc, scope)
            if transaction_id is not None:
                headers.append((_TRANSACTION, transaction_id.encode("latin-1")))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            now = time.perf_counter()
            self.metrics.observe(template, status, now - started, now)

    def _route(self, scope: Scope) -> tuple[str, Answer, OperatorSite, str] | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        parts = scope["path"].split("/")
        if len(parts) != 7 or parts[0] or parts[2] != "api" or parts[3] != "v1":
            return None
        found = ROUTES.get(parts[6])
        if found is None or parts[4] != "sims" or not parts[1] or not parts[5]:
            return None
        site = self._site(parts[1])
        if site is None:  # FastAPI's route answers the 404 for an unknown operator
            return None
        return found[0], found[1], site, parts[5]

    def _site(self, operator_id: str) -> OperatorSite | None:
        """``config.site(operator_id)`` from a dict of the sites (rebuilt if the state
        is given another configuration)."""
        config = self.state.config
        if config is not self._config:
            self._sites = {s.operator_id: s for s in reversed(config.sites)}  # first wins
            self._config = config
        return self._sites.get(operator_id)

    def _query(self, raw: bytes) -> Query:
        query = self._queries.get(raw)
        if query is None:
            if len(self._queries) >= QUERY_CACHE:
                self._queries.clear()
            query = self._queries[raw] = Query(raw)
        return query


def _problem(
    exc: AppError | IdentifierError, scope: Scope
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The problem+json answer of a failed check, as the app's handlers render it."""
    error = BadRequest.from_identifier(exc) if isinstance(exc, IdentifierError) else exc
    response = problem_response(error, URL(scope=scope).path)
    return response.status_code, response.raw_headers, bytes(response.body)


def _first_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:  # as Starlette's Headers.get: the server lower-cases names
            return str(value.decode("latin-1"))
    return None
