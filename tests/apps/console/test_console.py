"""The console in-process: sign-in/out, isolation, CSRF, headers, expiry, rate limit,
overview (paged, filtered, sorted), operator page, status page and its Atom feed (issue #10)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy import insert, select, update

from mobileplans.apps.console import views
from mobileplans.apps.console.session import MAX_AGE_SECONDS
from mobileplans.config import Settings
from mobileplans.db.models import AuditEntry, Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.sla import service as sla_service
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import (
    TOKEN,
    Sessions,
    open_global_incident,
    operator_token,
    seed_operators,
    sign_in,
)

PAGES = ["/signin", "/status", "/status/feed.atom", "/no/such/page", "/static/console.css"]


async def test_every_response_carries_a_strict_csp(client: httpx.AsyncClient) -> None:
    await sign_in(client, TOKEN)
    for url in [*PAGES, "/", "/overview/rows", "/operators/nobody"]:
        response = await client.get(url)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp, url
        assert "script-src 'self'" in csp, url
        assert "unsafe-inline" not in csp, url
        assert response.headers["x-frame-options"] == "DENY", url
        assert response.headers["x-content-type-options"] == "nosniff", url
        if response.headers["content-type"].startswith("text/html"):
            assert "<script>" not in response.text, url  # no inline script
            assert not re.search(r"(src|href)=\"(https?:)?//", response.text), url


async def test_signed_out_pages_lead_to_the_sign_in_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    form = await client.get("/signin")
    assert 'name="csrf"' in form.text
    assert 'name="token"' in form.text


async def test_admin_token_signs_in_to_the_overview(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    response = await sign_in(client, TOKEN)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age" in cookie
    page = await client.get("/")
    assert page.status_code == 200
    for name in ("Alpha Mobile", "Bravo Mobile", "Charlie Mobile"):
        assert name in page.text
    assert 'hx-get="/overview/rows?sort=name"' in page.text
    assert "every 15s" in page.text
    assert "SLA 99.9 %" in page.text  # the threshold line of the 24 h bars
    assert "Availability, last 90 days" in page.text
    # the seeded hour (and so today) is fully available: one green bar in each chart
    assert page.text.count('class="bar ok"') == 6
    rows = await client.get("/overview/rows", headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert "<html" not in rows.text
    assert "Alpha Mobile" in rows.text


async def test_an_operator_credential_sees_only_its_operator(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    token = await operator_token(sessions, clock, "alpha")
    await sign_in(client, token)
    landing = await client.get("/")
    assert landing.status_code == 303
    assert landing.headers["location"] == "/operators/alpha"
    own = await client.get("/operators/alpha")
    assert own.status_code == 200
    assert "Alpha Mobile" in own.text
    assert "Bravo Mobile" not in own.text
    assert "SLA 400 ms" in own.text  # the latency chart's threshold line
    other = await client.get("/operators/bravo")
    assert other.status_code == 404
    assert "Bravo" not in other.text
    assert (await client.get("/operators/bravo/sla.csv")).status_code == 404
    assert (await client.get("/overview/rows")).status_code == 404
    csv = await client.get("/operators/alpha/sla.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "alpha" in csv.text


async def test_a_wrong_credential_is_refused_and_audited(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await sign_in(client, "mpo_not-a-credential")
    assert response.status_code == 401
    assert "not valid" in response.text
    assert "mp_console=" not in response.headers.get("set-cookie", "")
    async with sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "console.signin_failed" in actions


async def test_forms_without_the_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    refused = await client.post("/signin", data={"token": TOKEN, "csrf": "forged"})
    assert refused.status_code == 403
    assert "mp_console=" not in refused.headers.get("set-cookie", "")
    await sign_in(client, TOKEN)
    assert (await client.post("/signout", data={"csrf": "forged"})).status_code == 403
    assert (await client.get("/")).status_code == 200  # still signed in
    page = await client.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    out = await client.post("/signout", data={"csrf": csrf.group(1)})
    assert out.status_code == 303
    assert out.headers["location"] == "/signin"
    assert (await client.get("/")).status_code == 303


async def test_an_expired_session_asks_to_sign_in_again(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await sign_in(client, TOKEN)
    clock.advance(timedelta(seconds=MAX_AGE_SECONDS + 1))
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?expired=1"
    page = await client.get("/signin?expired=1")
    assert "session expired" in page.text
    assert "Traceback" not in page.text
    polled = await client.get("/overview/rows", headers={"HX-Request": "true"})
    assert polled.headers["hx-redirect"] == "/signin?expired=1"


async def test_a_tampered_cookie_is_no_session(client: httpx.AsyncClient) -> None:
    await sign_in(client, TOKEN)
    value = client.cookies["mp_console"]
    client.cookies.set("mp_console", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert (await client.get("/")).status_code == 303


async def test_sign_in_is_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    codes = [(await sign_in(client, "wrong")).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    limited = await sign_in(client, TOKEN)  # even the right token waits
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


async def test_unknown_pages_answer_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text


async def test_status_page_and_feed_show_open_platform_incidents(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    calm = await client.get("/status")
    assert calm.status_code == 200
    assert calm.text.count('class="badge operational"') == 4
    assert "No open platform incident" in calm.text
    await open_global_incident(sessions, clock)
    page = await client.get("/status")
    for name in ("Broker", "Balance proxy", "Catalog", "Notifications"):
        assert name in page.text
    assert 'class="badge down"' in page.text  # a global outage
    assert "global production" in page.text
    assert page.text.count('class="day down"') == 4  # today's bar of each service
    feed = await client.get("/status/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert any(t and t.startswith("Incident: global production") for t in titles)


async def test_sla_statements_download_as_json_and_refuse_a_bad_period(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    document = await client.get("/operators/bravo/sla.json")
    assert document.status_code == 200
    assert "attachment" in document.headers["content-disposition"]
    statements = document.json()["statements"]
    assert {s["statement"]["operatorId"] for s in statements} == {"bravo"}
    bad = await client.get("/operators/bravo/sla.csv", params={"period": "2026-13"})
    assert bad.status_code == 400
    assert "not a real month" in bad.text
    assert bad.headers["content-type"].startswith("text/html")


async def _partner_incident(sessions: Sessions, clock: FrozenClock, operator_id: str) -> None:
    """The operator's probes failing alone: the engine opens a partner incident for it."""
    async with session_scope(sessions) as session:
        await session.execute(
            update(Probe).where(Probe.operator_id == operator_id).values(consecutive_failures=2)
        )
    engine = Engine(NotifyContext(list(Settings().platform_contacts)))
    async with session_scope(sessions) as session:
        await engine.evaluate(session, clock.now())


async def _failures(sessions: Sessions, clock: FrozenClock, operator_id: str) -> None:
    async with session_scope(sessions) as session:
        probes = (
            await session.scalars(select(Probe).where(Probe.operator_id == operator_id))
        ).all()
        rows = [
            {
                "probe_id": p.id,
                "operator_id": p.operator_id,
                "environment": p.environment,
                "kind": p.kind,
                "scheduled_at": clock.now() - timedelta(seconds=10),
                "started_at": clock.now() - timedelta(seconds=10),
                "latency_ms": 5000.0,
                "outcome": "timeout",
                "status_code": None,
            }
            for p in probes
        ]
        await session.execute(insert(ProbeResult), rows)


def _cards(html: str) -> list[str]:
    return re.findall(r'<a href="/operators/(\w+)">', html)


async def test_the_overview_shows_a_page_of_operators_with_prev_and_next(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    asked: list[set[str] | None] = []
    report_all = sla_service.report_all

    async def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("operator_ids"))
        return await report_all(*args, **kwargs)

    monkeypatch.setattr(sla_service, "report_all", spy)
    first = await client.get("/")
    assert _cards(first.text) == ["alpha", "bravo"]
    assert asked == [{"alpha", "bravo"}]  # the page's figures only
    assert "showing 1–2 of 3 operators" in first.text
    assert 'rel="next" href="/?sort=name&amp;page=2"' in first.text
    assert 'rel="prev"' not in first.text
    second = await client.get("/", params={"page": 2})
    assert _cards(second.text) == ["charlie"]
    assert "showing 3–3 of 3 operators" in second.text
    assert 'rel="prev" href="/?sort=name"' in second.text
    assert 'hx-get="/overview/rows?sort=name&amp;page=2"' in second.text  # the polling keeps it
    past = await client.get("/", params={"page": 9})  # past the end: the last page
    assert _cards(past.text) == ["charlie"]
    for bad in ({"page": "0"}, {"q": "x" * 101}, {"sort": "size"}):
        refused = await client.get("/overview/rows", params=bad)
        assert refused.status_code == 400, bad
        assert next(iter(bad)) in refused.text


async def test_the_filter_is_server_side_and_kept_by_sorting_paging_and_polling(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    page = await client.get("/", params={"q": "BRAV"})  # a name, any case
    assert _cards(page.text) == ["bravo"]
    assert "showing 1–1 of 1 operators matching “BRAV”" in page.text
    assert 'name="q" type="search" value="BRAV"' in page.text  # a GET form without JS
    assert 'href="/?sort=phase&amp;q=BRAV"' in page.text
    assert 'hx-get="/overview/rows?sort=name&amp;q=BRAV"' in page.text
    rows = await client.get("/overview/rows", params={"q": "charlie mobile", "sort": "phase"})
    assert _cards(rows.text) == ["charlie"]  # every word, of the id or the name
    assert 'hx-get="/overview/rows?sort=phase&amp;q=charlie+mobile"' in rows.text
    none = await client.get("/overview/rows", params={"q": "delta"})
    assert _cards(none.text) == []
    assert "No operator matches “delta”." in none.text


async def test_sorts_by_figures_order_every_operator_before_paging(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    await _failures(sessions, clock, "charlie")
    worst = await client.get("/", params={"sort": "availability"})
    assert _cards(worst.text) == ["charlie", "alpha"]  # the least available first
    await _partner_incident(sessions, clock, "bravo")
    busiest = await client.get("/", params={"sort": "incidents"})
    assert _cards(busiest.text) == ["bravo", "alpha"]
    assert "Open incidents" in busiest.text
