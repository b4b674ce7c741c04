"""The operator's pages in-process (issue #10): traffic failure percentages, SLA statements
by month (HTML with plots, CSV, JSON), the onboarding page, conformance runs, isolation
between operators, and the overview's sorting."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
from sqlalchemy import insert, select, update

from mobileplans.config import Settings
from mobileplans.db.models import OnboardingEvidence, Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.onboarding import service as onboarding_service
from mobileplans.domains.onboarding.schemas import StartIn
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import (
    TOKEN,
    Sessions,
    operator_token,
    seed_operators,
    sign_in,
)
from tests.apps.console.operator_support import onboard_with_runs, seed_traffic
from tests.support import operator_data

MONTH = "2026-11"  # the clock's month (tests/conftest.py START)


async def test_the_operator_page_shows_traffic_months_onboarding_and_runs(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    ids = await onboard_with_runs(sessions, clock)
    await seed_traffic(sessions, clock)
    await sign_in(client, TOKEN)
    page = await client.get("/operators/alpha")
    assert page.status_code == 200
    traffic = page.text[page.text.index('id="traffic"') : page.text.index('id="sla"')]
    first = traffic[traffic.index("last 5 minutes") : traffic.index("last 1 hour")]
    assert re.findall(r"<td>(\d+)</td>", first)[:2] == ["8", "2"]  # requests, failures
    assert "25.00 %" in first  # 2 of 8 (bravo's 3 timeouts are not alpha's)
    assert traffic.count("<tr><td>last ") == 3
    months = re.findall(r'href="/operators/alpha/sla/(\d{4}-\d{2})"', page.text)
    assert months[0] == MONTH
    assert months[-1] == "2025-11"
    assert len(months) == 13
    assert f'href="/operators/alpha/sla/{MONTH}.csv"' in page.text
    assert 'href="/operators/alpha/onboarding"' in page.text
    assert f'href="/operators/alpha/conformance/{ids["alpha"]}"' in page.text
    assert f"/conformance/{ids['bravo']}" not in page.text


async def test_a_conformance_run_lists_its_cases_failures_first(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    ids = await onboard_with_runs(sessions, clock)
    await sign_in(client, TOKEN)
    run = await client.get(f"/operators/alpha/conformance/{ids['alpha']}")
    assert run.status_code == 200
    assert "FAIL" in run.text
    cases = re.findall(r"<tr><td>([A-Z]+-[A-Z0-9-]+)</td>", run.text)
    assert cases == ["DEVICE-001", "MOAPI-GB-001", "MOAPI-GB-002"]
    assert "2 passed · 1 failed · 0 skipped" in run.text
    assert "<td>title of DEVICE-001</td>" in run.text  # the kept report: titles, failures
    assert "failure 1: expected HTTP 200" in run.text
    assert "<code>HTTP 500</code>" in run.text
    assert "https://api.alpha.example/v1" in run.text
    assert "xxxxxxxxxx" not in run.text  # exchanges are not kept
    async with session_scope(sessions) as session:  # a run filed before reports were kept
        row = await session.get(OnboardingEvidence, ids["alpha"])
        assert row is not None
        row.outcomes = {k: v for k, v in row.outcomes.items() if k != "report"}
    older = await client.get(f"/operators/alpha/conformance/{ids['alpha']}")
    assert re.findall(r"<tr><td>([A-Z]+-[A-Z0-9-]+)</td>", older.text) == cases
    assert "title of" not in older.text
    # bravo's run is not alpha's: the same id under another operator is 404
    assert (await client.get(f"/operators/alpha/conformance/{ids['bravo']}")).status_code == 404
    assert (await client.get("/operators/alpha/conformance/0")).status_code == 404
    assert (await client.get("/operators/alpha/conformance/x")).status_code == 404
    assert (await client.get(f"/operators/alpha/conformance/{2**64}")).status_code == 404


async def test_the_onboarding_page_shows_milestones_gonogo_runs_and_timeline(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    ids = await onboard_with_runs(sessions, clock)
    await sign_in(client, TOKEN)
    page = await client.get("/operators/alpha/onboarding")
    assert page.status_code == 200
    assert "<h2>Milestones" in page.text
    assert 'Go/No-Go: <span class="bad">no-go</span>' in page.text
    assert f"conformance-run#{ids['alpha']}" in page.text
    assert "filed (staging, fail)" in page.text  # the timeline
    none = await client.get("/operators/charlie/onboarding")
    assert none.status_code == 200
    assert "No onboarding project" in none.text


async def test_an_sla_month_renders_with_plots_and_downloads(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    page = await client.get(f"/operators/alpha/sla/{MONTH}")
    assert page.status_code == 200
    assert "in progress" in page.text
    probes = page.text.count('class="verdict-cell')
    assert probes >= 2  # one statement row and one plot card per production probe
    assert page.text.count('aria-label="Availability by day, 2026-11') == probes // 2
    assert page.text.count('aria-label="Latency p50/p99 by day, 2026-11') == probes // 2
    assert "SLA 400 ms" in page.text
    assert "SLA 99.9 %" in page.text
    # 2 November (UTC) is the clock's day: 2 daily bars, the second fully available
    bars = re.findall(r'<rect class="bar (\w+)"', page.text)
    assert bars[:2] == ["none", "ok"]
    assert len(bars) == 30 * (probes // 2)  # the whole month, days to come empty
    document = await client.get(f"/operators/alpha/sla/{MONTH}.csv")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("text/csv")
    assert f'filename="sla-alpha-{MONTH}.csv"' in document.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(document.text)))
    assert {r["operatorId"] for r in rows} == {"alpha"}
    assert {r["period"] for r in rows} == {MONTH}
    assert all(r["availabilityPercent"] == "100" for r in rows)
    assert len(rows) == probes // 2
    json_doc = (await client.get(f"/operators/alpha/sla/{MONTH}.json")).json()
    assert json_doc["period"]["label"] == MONTH


async def test_months_outside_the_list_are_404(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    for month in ("2026-12", "2025-10", "2026-13", "26-11", "2026-11-02"):
        response = await client.get(f"/operators/alpha/sla/{month}")
        assert response.status_code == 404, month
        assert "Page not found" in response.text or "no SLA statement" in response.text
    assert (await client.get("/operators/alpha/sla/2026-11.xml")).status_code == 404
    old = await client.get("/operators/alpha/sla/2025-11")
    assert old.status_code == 200


async def test_an_sla_month_of_an_environment_without_probes_says_so(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    staging = await client.get(f"/operators/alpha/sla/{MONTH}", params={"environment": "staging"})
    assert staging.status_code == 200
    assert "No staging probe measures this operator" in staging.text
    assert 'class="verdict-cell' not in staging.text
    assert (
        await client.get(f"/operators/alpha/sla/{MONTH}.csv?environment=staging")
    ).status_code == 404
    bad = await client.get(f"/operators/alpha/sla/{MONTH}", params={"environment": "moon"})
    assert bad.status_code == 400
    assert "environment is production or staging" in bad.text


async def test_an_operator_gets_404_for_every_page_of_another(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    ids = await onboard_with_runs(sessions, clock)
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    for url in (
        "/operators/alpha",
        "/operators/alpha/onboarding",
        f"/operators/alpha/sla/{MONTH}",
        f"/operators/alpha/sla/{MONTH}.csv",
        f"/operators/alpha/conformance/{ids['alpha']}",
    ):
        assert (await client.get(url)).status_code == 200, url
    for url in (
        "/operators/bravo",
        "/operators/bravo/onboarding",
        f"/operators/bravo/sla/{MONTH}",
        f"/operators/bravo/sla/{MONTH}.csv",
        f"/operators/bravo/sla/{MONTH}.json",
        f"/operators/bravo/conformance/{ids['bravo']}",
        "/operators/nobody/sla/2026-11",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Bravo" not in response.text, url
        assert "Sign out" in response.text, url  # the 404 page keeps the signed-in header


async def test_the_overview_sorts_and_its_polling_keeps_the_order(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    async with session_scope(sessions) as session:  # charlie in feasibility
        start = StartIn(start=clock.now().date())
        await onboarding_service.start(session, PLATFORM_ADMIN, "charlie", start, now=clock.now())
    await sign_in(client, TOKEN)

    def order(text: str) -> list[str]:
        return re.findall(r'<a href="/operators/(\w+)">', text)

    assert order((await client.get("/")).text) == ["alpha", "bravo", "charlie"]
    phase = await client.get("/?sort=phase")
    assert order(phase.text)[0] == "charlie"
    assert 'hx-get="/overview/rows?sort=phase"' in phase.text
    assert 'aria-current="true" class="current">phase' in phase.text
    polled = await client.get("/overview/rows?sort=phase", headers={"HX-Request": "true"})
    assert order(polled.text)[0] == "charlie"
    assert "sorted by phase" in polled.text
    bad = await client.get("/?sort=colour")
    assert bad.status_code == 400
    assert "sort is one of name, phase, availability, incidents" in bad.text


async def test_the_overview_sorts_by_availability_and_open_incidents(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    async with session_scope(sessions) as session:  # bravo: a failed run of each probe
        probes = (await session.scalars(select(Probe).where(Probe.operator_id == "bravo"))).all()
        failed = [
            {
                "probe_id": p.id,
                "operator_id": p.operator_id,
                "environment": p.environment,
                "kind": p.kind,
                "scheduled_at": clock.now() - timedelta(seconds=15),
                "started_at": clock.now() - timedelta(seconds=15),
                "latency_ms": 5000.0,
                "outcome": "timeout",
                "status_code": None,
            }
            for p in probes
        ]
        await session.execute(insert(ProbeResult), failed)
        await session.execute(
            update(Probe).where(Probe.operator_id == "charlie").values(consecutive_failures=3)
        )
    engine = Engine(NotifyContext(list(Settings().platform_contacts)))
    async with session_scope(sessions) as session:  # charlie's probes failing: an incident
        await engine.evaluate(session, clock.now())
    await sign_in(client, TOKEN)

    def order(text: str) -> list[str]:
        return re.findall(r'<a href="/operators/(\w+)">', text)

    by_availability = await client.get("/?sort=availability")
    assert order(by_availability.text) == ["bravo", "alpha", "charlie"]
    by_incidents = await client.get("/overview/rows?sort=incidents")
    assert order(by_incidents.text) == ["charlie", "alpha", "bravo"]
    assert by_incidents.text.count('<span class="sev">') >= 1


async def test_an_operator_probed_only_in_staging_charts_staging(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    async with session_scope(sessions) as session:
        data = operator_data("delta", brand="Delta Mobile", prefix="8901994")
        data["environments"] = {
            "staging": {
                "portalUrl": "https://portal.delta.example/mobileplans",
                "moBaseUrl": "https://api.delta.example/v1",
            }
        }
        data["iccidRanges"][0]["environment"] = "staging"
        spec = OperatorSpec.model_validate(data)
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await probe_service.sync_from_registry(session, now=clock.now())
    await seed_operators(sessions, clock)  # results for every probe, delta's too
    await sign_in(client, TOKEN)
    page = await client.get("/overview/rows")
    card = page.text[page.text.index("Delta Mobile") :]
    card = card[: card.index("</section>")]
    assert 'aria-label="Availability, last 24 h (staging, by hour)' in card
    assert 'aria-label="Availability, last 90 days (staging, by UTC day)' in card
    alpha = page.text[page.text.index("Alpha Mobile") :]
    assert 'aria-label="Availability, last 24 h (production, by hour)' in alpha
    month = await client.get(f"/operators/delta/sla/{MONTH}")
    assert month.status_code == 200
    assert "<td>staging/portal" in month.text


async def test_the_operator_pages_hold_the_strict_csp(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    ids = await onboard_with_runs(sessions, clock)
    await sign_in(client, TOKEN)
    for url in (
        "/?sort=phase",
        "/operators/alpha",
        "/operators/alpha/onboarding",
        f"/operators/alpha/conformance/{ids['alpha']}",
        f"/operators/alpha/sla/{MONTH}",
    ):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        assert "<script>" not in response.text, url  # no inline script
        assert "<style" not in response.text, url  # no inline style sheet
        assert " style=" not in response.text, url  # no style attribute the CSP would block
        assert not re.search(r"(src|href)=\"(https?:)?//", response.text), url
