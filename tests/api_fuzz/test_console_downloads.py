"""The console's downloads under generated paths and queries (issue #11, decision D260).

The console serves HTML (no OpenAPI document: ``openapi_url=None``) and four kinds of
machine-readable downloads: an SLA month as CSV or JSON, the SLA of any period as CSV or
JSON, an operator's maintenance windows as iCalendar, the platform status as Atom
(docs/console.md). Hypothesis draws who asks (the platform, Contoso's user, nobody signed
in; for the calendar feed a ``?token=``) and each path segment and query value, from the
meaningful values and from arbitrary text. Every answer is the documented one, computed
here from the inputs: never a 5xx; 303 to the sign-in page without a session; 404 for an
unknown format, operator, another operator's data or a month the operator page does not
list; 400 for a bad ``environment`` or ``period``, or a calendar token over 500 characters;
401 for the feed without a session or an operator's credential (the admin token is
refused in a URL); else the file, of its media type.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.sla.periods import parse_period
from mobileplans.errors import BadRequest
from mobileplans.kit.clock import SystemClock
from tests.api_fuzz.parties import in_transaction, issue_credential
from tests.api_fuzz.settings import EXAMPLES, SEED
from tests.api_fuzz.stack import ADMIN_TOKEN, StackUrls

pytestmark = pytest.mark.e2e

FORMATS = {"csv": "text/csv", "json": "application/json"}
ENVIRONMENTS = ("production", "staging")
WHO = ("platform", "contoso", "nobody")
MAX_TOKEN = 500
FUZZ = settings(
    max_examples=EXAMPLES * 20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
segment = st.text(st.characters(codec="utf-8", exclude_characters="/."), min_size=1, max_size=24)
"""A path segment of arbitrary text (no ``/``, no ``.``: those would make another path)."""


def mostly(
    values: list[str | None], noise: st.SearchStrategy[str]
) -> st.SearchStrategy[str | None]:
    """One of ``values`` or ``noise``. Hypothesis draws few requests that pass every check
    (it prefers new choices, and the meaningful ones are few): each documented answer is
    also an explicit ``@example``."""
    return st.sampled_from(values) | noise


@dataclass(frozen=True)
class Console:
    url: str
    clients: dict[str, httpx.Client]
    tokens: dict[str, str]
    timezones: dict[str, str]
    probed: dict[str, set[str]]

    def months(self, operator_id: str) -> list[str]:
        """The months the operator page lists: this one and the twelve before, its zone."""
        now = datetime.now(ZoneInfo(self.timezones[operator_id]))
        first = now.year * 12 + now.month - 1
        return [f"{(first - back) // 12:04d}-{(first - back) % 12 + 1:02d}" for back in range(13)]

    def default_environment(self, operator_id: str) -> str:
        """Production when it is probed, else the one probed (docs/console.md)."""
        probed = [env for env in ENVIRONMENTS if env in self.probed[operator_id]]
        return probed[0] if probed else "production"

    def sees(self, who: str, operator_id: str) -> bool:
        return operator_id in self.timezones and who in ("platform", operator_id)


def _signed_in(base: str, token: str | None) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    if token is not None:
        client.get("/signin")
        csrf = client.cookies.get("mp_console_csrf")
        answer = client.post("/signin", data={"token": token, "csrf": csrf})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/"
    return client


@pytest.fixture(scope="module")
def console(stack: StackUrls) -> Iterator[Console]:
    """Probes synced from the registry (the worker's first step, which this stack does not
    run), Contoso's and Fabrikam's credentials, a client per party."""

    async def sync(session: AsyncSession) -> dict[str, set[str]]:
        await probe_service.sync_from_registry(session, now=SystemClock().now())
        probed: dict[str, set[str]] = {"contoso": set(), "fabrikam": set()}
        for probe in await probe_service.list_probes(session):
            probed.setdefault(probe.operator_id, set()).add(str(probe.environment))
        return probed

    probed = in_transaction(stack.database_url, sync)
    tokens = {op: issue_credential(stack.database_url, op, "calendar") for op in probed}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    timezones = {
        op: httpx.get(f"{stack.broker}/v1/admin/operators/{op}", headers=admin).json()["timezone"]
        for op in ("contoso", "fabrikam")
    }
    clients = {
        "platform": _signed_in(stack.console, ADMIN_TOKEN),
        "contoso": _signed_in(stack.console, tokens["contoso"]),
        "nobody": _signed_in(stack.console, None),
    }
    try:
        yield Console(stack.console, clients, tokens, timezones, probed)
    finally:
        for client in clients.values():
            client.close()


operators = mostly(["contoso", "fabrikam", "unknown"], segment)


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in parts)


def _check_file(response: httpx.Response, fmt: str, operator_id: str) -> None:
    assert response.headers["content-type"].startswith(FORMATS[fmt])
    assert f'filename="sla-{operator_id}-' in response.headers["content-disposition"]
    if fmt == "json":
        assert json.loads(response.text)["operatorId"] == operator_id
    else:
        header = next(csv.reader(io.StringIO(response.text)))
        assert "operator_id" in header or "operatorId" in header, header


def _expect(response: httpx.Response, expected: int) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code == expected, (response.request.url, response.text[-400:])
    if expected == 303:
        assert response.headers["location"].startswith("/signin")


@seed(SEED)
@FUZZ
@given(
    who=st.sampled_from(WHO),
    operator_id=operators,
    month=mostly(["this", "last", "1999-01", "2026-13", "26-1"], segment),
    fmt=mostly(["csv", "json", "xml"], segment),
    environment=mostly([None, *ENVIRONMENTS, ""], st.text(max_size=12)),
)
@example(who="platform", operator_id="contoso", month="this", fmt="csv", environment=None)
@example(who="contoso", operator_id="contoso", month="last", fmt="json", environment="production")
@example(who="platform", operator_id="fabrikam", month="this", fmt="json", environment=None)
@example(who="contoso", operator_id="contoso", month="this", fmt="csv", environment="staging")
@example(who="contoso", operator_id="fabrikam", month="this", fmt="csv", environment=None)
@example(who="platform", operator_id="unknown", month="this", fmt="csv", environment=None)
@example(who="contoso", operator_id="contoso", month="this", fmt="csv", environment="prod")
@example(who="platform", operator_id="contoso", month="1999-01", fmt="json", environment=None)
@example(who="platform", operator_id="contoso", month="this", fmt="xml", environment=None)
@example(who="nobody", operator_id="contoso", month="this", fmt="csv", environment=None)
def test_sla_month_download(
    console: Console, who: str, operator_id: str, month: str, fmt: str, environment: str | None
) -> None:
    """``/operators/{id}/sla/{YYYY-MM}.{csv|json}?environment=``."""
    if operator_id in console.timezones and month in ("this", "last"):
        month = console.months(operator_id)[0 if month == "this" else 1]
    params = {} if environment is None else {"environment": environment}
    path = _path("operators", operator_id, "sla", f"{month}.{fmt}")
    response = console.clients[who].get(path, params=params)
    if who == "nobody":
        expected = 303
    elif fmt not in FORMATS or not console.sees(who, operator_id):
        expected = 404
    elif month not in console.months(operator_id):
        expected = 404
    elif environment is not None and environment not in ENVIRONMENTS:
        expected = 400
    else:
        env = environment or console.default_environment(operator_id)
        expected = 200 if env in console.probed[operator_id] else 404
    _expect(response, expected)
    if expected == 200:
        _check_file(response, fmt, operator_id)


def _period_is_valid(period: str | None, timezone: str) -> bool:
    try:
        parse_period(period, start=None, end=None, timezone=timezone, now=SystemClock().now())
    except BadRequest:
        return False
    return True


@seed(SEED)
@FUZZ
@given(
    who=st.sampled_from(WHO),
    operator_id=operators,
    fmt=mostly(["csv", "json", "ics"], segment),
    period=mostly(
        [None, "2026-11", "2026-11-02", "2026-02-30", "2026-13", ""], st.text(max_size=16)
    ),
    environment=mostly([None, *ENVIRONMENTS, ""], st.text(max_size=12)),
)
@example(who="platform", operator_id="contoso", fmt="csv", period=None, environment=None)
@example(who="contoso", operator_id="contoso", fmt="json", period="2026-11-02", environment=None)
@example(who="platform", operator_id="fabrikam", fmt="json", period="2026-11", environment=None)
@example(who="contoso", operator_id="fabrikam", fmt="csv", period=None, environment=None)
@example(who="contoso", operator_id="contoso", fmt="json", period="2026-02-30", environment=None)
@example(who="contoso", operator_id="contoso", fmt="ics", period=None, environment=None)
@example(who="nobody", operator_id="contoso", fmt="csv", period=None, environment=None)
@example(who="contoso", operator_id="contoso", fmt="csv", period="2026-11", environment="staging")
@example(who="platform", operator_id="fabrikam", fmt="json", period=None, environment="staging")
@example(who="contoso", operator_id="contoso", fmt="csv", period=None, environment="prod")
def test_sla_period_download(
    console: Console,
    who: str,
    operator_id: str,
    fmt: str,
    period: str | None,
    environment: str | None,
) -> None:
    """``/operators/{id}/sla.{csv|json}?period=&environment=`` (the environment as the
    month download chooses it)."""
    params = {} if period is None else {"period": period}
    if environment is not None:
        params["environment"] = environment
    path = _path("operators", operator_id, f"sla.{fmt}")
    response = console.clients[who].get(path, params=params)
    if who == "nobody":
        expected = 303
    elif fmt not in FORMATS or not console.sees(who, operator_id):
        expected = 404
    elif environment is not None and environment not in ENVIRONMENTS:
        expected = 400
    elif not _period_is_valid(period, console.timezones[operator_id]):
        expected = 400
    else:
        env = environment or console.default_environment(operator_id)
        expected = 200 if env in console.probed[operator_id] else 404
    _expect(response, expected)
    if expected == 200:
        _check_file(response, fmt, operator_id)


@seed(SEED)
@FUZZ
@given(
    who=st.sampled_from(WHO),
    operator_id=operators,
    token=mostly([None, "contoso", "fabrikam", "admin", "long", ""], st.text(max_size=40)),
)
@example(who="contoso", operator_id="contoso", token=None)
@example(who="contoso", operator_id="fabrikam", token="fabrikam")
@example(who="platform", operator_id="fabrikam", token=None)
@example(who="platform", operator_id="unknown", token=None)
@example(who="nobody", operator_id="contoso", token="contoso")
@example(who="nobody", operator_id="fabrikam", token="contoso")
@example(who="nobody", operator_id="contoso", token="admin")
@example(who="nobody", operator_id="contoso", token="long")
@example(who="nobody", operator_id="contoso", token=None)
def test_maintenance_calendar(
    console: Console, who: str, operator_id: str, token: str | None
) -> None:
    """``/operators/{id}/maintenance.ics?token=``: the session wins over a token (D202)."""
    named = {**console.tokens, "admin": ADMIN_TOKEN, "long": "x" * (MAX_TOKEN + 1)}
    value = named.get(token, token) if token is not None else None
    params = {} if value is None else {"token": value}
    response = console.clients[who].get(
        _path("operators", operator_id, "maintenance.ics"), params=params
    )
    party = who
    if who == "nobody":
        party = next((op for op, t in console.tokens.items() if t == value), "")
    if who == "nobody" and value is not None and len(value) > MAX_TOKEN:
        expected = 400
    elif not party:
        expected = 401
    else:
        expected = 200 if console.sees(party, operator_id) else 404
    _expect(response, expected)
    if expected == 200:
        assert response.headers["content-type"].startswith("text/calendar")
        assert response.text.startswith("BEGIN:VCALENDAR\r\n")
        assert response.text.rstrip("\r\n").endswith("END:VCALENDAR")


@seed(SEED)
@settings(FUZZ, max_examples=EXAMPLES * 4)
@given(
    who=st.sampled_from(WHO),
    query=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=3),
)
def test_status_feed(console: Console, who: str, query: dict[str, str]) -> None:
    """``/status/feed.atom``: anyone, no parameters (others are ignored)."""
    response = console.clients[who].get("/status/feed.atom", params=query)
    _expect(response, 200)
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
