"""A lean ASGI path in front of FastAPI for the broker's device-facing hot routes.

FastAPI spends ~150-190 us per request on routing, dependency resolution and
validation; the answers themselves cost a few microseconds (the SIM index) or one
network call (GetBalance). This wrapper answers

- ``GET /v1/sims/{iccid}`` (from the in-memory index),
- ``GET /v1/providers`` (the provider catalog, launch records stored first, D93),
- ``GET /v1/balances`` (the GetBalance proxy),
- ``GET /v1/phone-numbers/{e164}`` (the phone-number lookup, from the snapshot),

with the same status, body, content type and metrics as the FastAPI routes (tests
compare the two byte for byte) and passes everything else through. Parameters are
read the way Starlette reads them (``parse_qsl``, blanks kept, last value wins); when
they are invalid the request goes to FastAPI before anything was done, so error
answers come from one place. Errors that only the work itself can find (a SIM in no
range, an operator's failure) are rendered here like FastAPI's problem handlers do.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from mobileplans.apps.broker.state import BrokerState
from mobileplans.config import Environment
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.domains.catalog.launch import parse_device
from mobileplans.errors import AppError, BadRequest
from mobileplans.kit import identifiers as ids
from mobileplans.kit.identifiers import IdentifierError
from mobileplans.web.metrics import RouteTally
from mobileplans.web.problems import PROBLEM_JSON

SIMS_PREFIX = "/v1/sims/"
SIMS_ROUTE = "/v1/sims/{iccid}"
PHONES_PREFIX = "/v1/phone-numbers/"
PHONES_ROUTE = "/v1/phone-numbers/{e164}"
PROVIDERS = "/v1/providers"
BALANCES = "/v1/balances"
_ENVIRONMENTS = {e.value for e in Environment}
_JSON = [(b"content-type", b"application/json")]
_PROBLEM = [(b"content-type", PROBLEM_JSON.encode())]

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class _Delegate(Exception):
    """Let FastAPI answer this request (invalid parameters: its error, its words)."""


def query_params(scope: Scope) -> dict[str, str]:
    """Query parameters as Starlette's ``QueryParams`` reads them (last value wins).

    A query with nothing escaped (no ``%``, no ``+``: a device's ICCID and country code)
    is split directly, which gives what ``parse_qsl`` gives in a fifth of its time
    (tests hold the two to the same answers)."""
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return {}
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    params = {}
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            params[name] = value
    return params


def problem(error: AppError | IdentifierError, instance: str) -> Answer:
    """What ``web.problems.problem_response`` sends for ``error``."""
    if isinstance(error, IdentifierError):
        error = BadRequest.from_identifier(error)
    headers = list(_PROBLEM)
    if "retryAfter" in error.extra:
        headers.append((b"retry-after", str(error.extra["retryAfter"]).encode()))
    return error.status_code, headers, orjson.dumps(error.problem(instance))


class DeviceFastPath:
    def __init__(self, app: ASGIApp, state: BrokerState, *, enabled: bool = True) -> None:
        self.app = app
        self.state = state
        self.enabled = enabled  # False: every request to ``app`` (MP_BROKER_FAST_PATH)
        self.default_environment = state.settings.environment.value
        self.metrics = RouteTally("broker")  # web.metrics.observe, tallied (D190, D294)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not self.enabled:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        started = time.perf_counter()
        try:
            if path == PROVIDERS:
                route, answer = PROVIDERS, await self._providers(scope)
            elif path == BALANCES:
                route, answer = BALANCES, await self._balances(scope)
            elif path.startswith(SIMS_PREFIX) and "/" not in path[len(SIMS_PREFIX) :]:
                route, answer = SIMS_ROUTE, self._sim(path, scope)
            elif path.startswith(PHONES_PREFIX) and "/" not in path[len(PHONES_PREFIX) :]:
                route, answer = PHONES_ROUTE, self._phone_number(path, scope)
            else:
                raise _Delegate
        except _Delegate:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        now = time.perf_counter()
        self.metrics.observe(route, status, now - started, now)

    def _environment(self, params: dict[str, str]) -> str:
        requested = params.get("environment")
        if requested is None:
            return self.default_environment
        if requested not in _ENVIRONMENTS:
            raise _Delegate
        return requested

    def _sim(self, path: str, scope: Scope) -> Answer:
        environment = self._environment(query_params(scope))
        try:
            body = catalog_service.sim_record(
                self.state.snapshot, path[len(SIMS_PREFIX) :], environment
            )
        except (AppError, IdentifierError) as exc:
            return problem(exc, path)
        return 200, _JSON, orjson.dumps(body)

    def _phone_number(self, path: str, scope: Scope) -> Answer:
        """Spec 1.11 / 2.10 phone-number lookup (seed 004 step 1)."""
        environment = Environment(self._environment(query_params(scope)))
        raw = path[len(PHONES_PREFIX) :]  # ASGI's path is already percent-decoded
        if not raw:
            raise _Delegate
        try:
            record = self.state.snapshot.phone_number(raw, environment)
        except (AppError, IdentifierError) as exc:
            return problem(exc, path)
        return 200, _JSON, orjson.dumps(record.wire())

    async def _providers(self, scope: Scope) -> Answer:
        """Spec 2.10 Get Providers; any error is raised before a launch is recorded."""
        params = query_params(scope)
        environment = self._environment(params)
        try:
            device = parse_device(
                params.get("location"),
                params.get("market"),
                params.get("imei"),
                params.get("eid"),
                params.get("iccids"),
                params.get("iccid"),
            )
            body = await self.state.providers(device, environment)
        except (AppError, IdentifierError) as exc:
            raise _Delegate from exc
        return 200, _JSON, body

    async def _balances(self, scope: Scope) -> Answer:
        """Spec 1.10 / 2.3 Get Balance(s) through the SIM's operator."""
        params = query_params(scope)
        environment = self._environment(params)
        iccid = params.get("iccid")
        location = params.get("location")
        if iccid is None:
            raise _Delegate
        try:
            country = ids.parse_country(location, field="location") if location else None
        except IdentifierError as exc:
            raise _Delegate from exc
        state = self.state  # what ``BrokerState.balance`` does, without its frame
        try:
            answer = await state.balances.lookup(
                state.snapshot, iccid, location=country, environment=environment
            )
        except (AppError, IdentifierError) as exc:
            return problem(exc, BALANCES)
        return 200, _JSON, orjson.dumps(answer)
