"""A lean ASGI path for ``GET /v1/sims/{iccid}``, in front of FastAPI.

FastAPI spends ~150-190 us per request on routing, dependency resolution and
validation (``../shared/design/perf-anchors.md`` 1.3); a lookup from the in-memory
index costs ~1 us. This wrapper answers that one hot route straight from the
snapshot with the same body, errors and metrics as the FastAPI route (tests
compare the two byte for byte) and passes everything else through.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from mobileplans.apps.broker.state import BrokerState
from mobileplans.config import Environment
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.errors import AppError, BadRequest
from mobileplans.kit.identifiers import IdentifierError
from mobileplans.web.metrics import observe
from mobileplans.web.problems import PROBLEM_JSON

PREFIX = "/v1/sims/"
ROUTE = "/v1/sims/{iccid}"
_ENVIRONMENTS = {e.value for e in Environment}
_JSON = [(b"content-type", b"application/json")]
_PROBLEM = [(b"content-type", PROBLEM_JSON.encode())]


class SimLookupFastPath:
    def __init__(self, app: ASGIApp, state: BrokerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith(PREFIX)
            or "/" in path[len(PREFIX) :]
        ):
            await self.app(scope, receive, send)
            return
        environment = self._environment(scope.get("query_string", b""))
        if environment is None:  # let FastAPI report the bad parameter
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, headers, body = self._answer(path, environment)
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        observe("broker", "GET", ROUTE, status, time.perf_counter() - started)

    def _environment(self, query: bytes) -> str | None:
        default = self.state.settings.environment.value
        if not query:
            return default
        requested = dict(parse_qsl(query.decode("latin-1"))).get("environment", default)
        return requested if requested in _ENVIRONMENTS else None

    def _answer(self, path: str, environment: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            body = catalog_service.sim_record(self.state.snapshot, path[len(PREFIX) :], environment)
            return 200, _JSON, orjson.dumps(body)
        except IdentifierError as exc:
            error: AppError = BadRequest.from_identifier(exc)
        except AppError as exc:
            error = exc
        return error.status_code, _PROBLEM, orjson.dumps(error.problem(path))
