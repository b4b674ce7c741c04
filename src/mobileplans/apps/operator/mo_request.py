"""What every MO API request shares (spec 2.3, 2.8, 2.9): the echoed
``X-MS-DM-TransactionId``, the client check, rate limiting and the query-parameter rules.

Order of checks on each request: mutual TLS (401/403) → rate limit (429) →
``X-MS-DM-TransactionId`` present (400) → path and query parameters (400) → the SIM (404).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any, Final, Protocol, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from mobileplans.apps.operator.client_auth import Caller, authenticate
from mobileplans.apps.operator.deps import Site, State
from mobileplans.apps.operator.state import OperatorState
from mobileplans.config import OperatorSite
from mobileplans.errors import BadRequest
from mobileplans.kit import identifiers as ids

TRANSACTION_HEADER: Final = "X-MS-DM-TransactionId"
INT_MAX: Final = 2**31 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")
T = TypeVar("T")
_ICCID_MIN: Final = ids.ICCID_MIN_DIGITS
_ICCID_MAX: Final = ids.ICCID_MAX_DIGITS


class MoApiRoute(APIRoute):
    """A route that echoes ``X-MS-DM-TransactionId`` verbatim (quotes included) on every
    response, errors included (spec 2.9): errors are rendered here, by the app's own
    problem+json handlers, so the header can be added."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def echoing(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                response = await _render(request, exc)
            transaction_id = request.headers.get(TRANSACTION_HEADER)
            if transaction_id is not None:
                response.headers[TRANSACTION_HEADER] = transaction_id
            return response

        return echoing


async def _render(request: Request, exc: Exception) -> Response:
    handlers = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind in handlers:
            result = handlers[kind](request, exc)
            response: Response = await result if inspect.isawaitable(result) else result
            return response
    raise exc


def admit(
    site: OperatorSite, state: OperatorState, scope: Mapping[str, Any], transaction_id: str | None
) -> Caller:
    """Mutual TLS, then one token of the caller's rate-limit bucket, then the header
    (``transaction_id``: the request's first ``X-MS-DM-TransactionId``, if any)."""
    now = state.clock.now()
    caller = authenticate(site, scope, now)
    state.rate_limiter.check(
        (site.operator_id, caller.key),
        rate=site.rate_limit_per_second,
        burst=site.rate_limit_burst,
        now=now,
    )
    if not (transaction_id or "").strip():
        raise BadRequest(f"the {TRANSACTION_HEADER} header is required", field=TRANSACTION_HEADER)
    return caller


async def authorize(request: Request, site: Site, state: State) -> Caller:
    """:func:`admit` as a FastAPI dependency (``async``: no thread hand-off)."""
    return admit(site, state, request.scope, request.headers.get(TRANSACTION_HEADER))


MoCaller = Annotated[Caller, Depends(authorize)]


class QueryValues(Protocol):
    """The query parameters of a request: Starlette's ``QueryParams`` or :class:`Query`."""

    def getlist(self, key: str) -> list[str]: ...


class Query:
    """A query string parsed as Starlette's ``QueryParams`` parses it (latin-1,
    ``parse_qsl`` keeping blank values), without building its multi-dict; and what a
    route read from it (:func:`parsed`), kept with it."""

    __slots__ = ("_pairs", "_parsed")

    def __init__(self, raw: bytes) -> None:
        self._pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []
        self._parsed: dict[Callable[[QueryValues], Any], Any] = {}

    def getlist(self, key: str) -> list[str]:
        return [value for name, value in self._pairs if name == key]


def parsed(query: QueryValues, parse: Callable[[QueryValues], T]) -> T:
    """``parse(query)``; for a :class:`Query` (the fast path keeps one per distinct query
    string) computed once and kept. ``parse`` must depend on the query alone; what it
    raises is not kept, so a bad query string fails alike every time."""
    if not isinstance(query, Query):
        return parse(query)
    try:
        found: T = query._parsed[parse]
    except KeyError:
        found = query._parsed[parse] = parse(query)
    return found


def query_value(query: QueryValues, name: str) -> str | None:
    """One query parameter; empty counts as missing (spec 7.1 #7); repeated is a 400."""
    values = query.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"{name} must be given once", field=name)
    value = values[0].strip() if values else ""
    return value or None


def parse_sim_id(value: str, *, field: str) -> str:
    """``iccid:<ICCID>``, ``iccid: <ICCID>`` or the bare ICCID (spec 2.3, 7.1 #2).

    The check digit is not enforced (7.2 #39): a well-formed ICCID with a wrong one is
    simply unknown (404). ``imsi:`` is refused: this operator keeps no IMSIs to map.
    """
    if value.startswith("iccid:"):  # the usual form, ASCII digits: what the rules give it
        digits = value[6:]
        if digits.isascii() and digits.isdigit() and _ICCID_MIN <= len(digits) <= _ICCID_MAX:
            return digits
    text = value.strip()
    scheme, sep, rest = text.partition(":")
    if sep:
        kind = scheme.strip().lower()
        if kind == "imsi":
            raise BadRequest(
                f"{field}: imsi: identifiers are not supported here; use iccid:<ICCID>",
                field=field,
            )
        if kind != "iccid":
            raise BadRequest(f"{field} must be iccid:<ICCID> or an ICCID", field=field)
        text = rest.strip()
    return ids.parse_iccid(text, field=field, lenient=True)


def parse_limit(value: str | None, *, required: bool) -> int | None:
    """A non-negative integer up to 2^31-1 (spec 2.3: negative or above int range → 400)."""
    if value is None:
        if required:
            raise BadRequest("limit is required", field="limit")
        return None
    if not _INTEGER.fullmatch(value):
        raise BadRequest(f"limit must be an integer, got {value!r}", field="limit")
    number = int(value)
    if number < 0:
        raise BadRequest("limit must not be negative", field="limit")
    if number > INT_MAX:
        raise BadRequest(f"limit must be at most {INT_MAX}", field="limit")
    return number


def parse_fields_template(value: str | None) -> bool:
    """``basic`` (default) or ``full``; True for ``full``."""
    if value is None or value == "basic":
        return False
    if value == "full":
        return True
    raise BadRequest(f"fieldsTemplate must be basic or full, got {value!r}", field="fieldsTemplate")


def parse_imei(value: str | None) -> str | None:
    return ids.parse_imei(value) if value is not None else None
