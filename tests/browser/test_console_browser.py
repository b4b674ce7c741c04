"""The console in Debian's Chromium on a real socket: sign in as platform (the overview,
its server-side filter, its sorting and one htmx refresh of it, a phone-sized overview,
/status and its feed) and
as an operator (its own pages; every page of another operator is 404: operator, onboarding,
SLA, conformance run, .ics feed, incident, maintenance window; an SLA statement
downloaded as CSV). Fails on any console error and on any request leaving 127.0.0.1;
screenshots land in the test's tmp dir and in ``$MP_TEST_ARTIFACTS/<test name>/``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import Page

from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import (
    TOKEN,
    Sessions,
    open_global_incident,
    operator_token,
    seed_operators,
)
from tests.apps.console.operator_support import (
    incidents_and_windows,
    onboard_with_runs,
    seed_traffic,
)
from tests.browser.console_support import guarded_browser, screenshot

pytestmark = pytest.mark.browser
MONTH = "2026-11"  # the frozen clock's month


async def status_of(page: Page, url: str) -> int:
    response = await page.goto(url)
    assert response is not None, url
    return response.status


async def test_platform_signs_in_and_reads_the_overview_and_status(
    served: str, sessions: Sessions, clock: FrozenClock, tmp_path: Path
) -> None:
    await seed_operators(sessions, clock)
    await open_global_incident(sessions, clock)
    async with guarded_browser(served) as guarded:
        context = await guarded.context()
        page = await guarded.page(context)
        await page.goto(f"{served}/")
        assert page.url == f"{served}/signin"
        await guarded.sign_in(page, TOKEN)
        assert page.url == f"{served}/"
        assert await page.locator(".card").count() == 3
        assert await page.locator("svg.chart").count() >= 3
        assert await page.evaluate("typeof htmx") == "object"
        async with page.expect_response(f"{served}/overview/rows?sort=name"):
            await page.evaluate("htmx.ajax('GET', '/overview/rows?sort=name', '#overview')")
        await page.locator("#overview .card").first.wait_for()
        async with page.expect_response(f"{served}/overview/rows?sort=name&q=bravo"):
            await page.fill("#filter", "bravo")  # the server filters, after a short pause
        await page.locator("#poll[hx-get*='q=bravo']").wait_for()
        assert await page.locator(".card").count() == 1
        assert "showing 1–1 of 1" in await page.inner_text("#overview .updated")
        async with page.expect_response(f"{served}/overview/rows?sort=name&q="):
            await page.fill("#filter", "")
        await page.locator("#poll[hx-get='/overview/rows?sort=name']").wait_for()
        assert await page.locator(".card").count() == 3
        await screenshot(page, tmp_path, "overview")

        async with page.expect_response(f"{served}/overview/rows?sort=name&q=mobile"):
            await page.fill("#filter", "mobile")
        await page.locator("#poll[hx-get*='q=mobile']").wait_for()
        await page.click("nav.sort >> text=phase")  # a page load, the filter kept
        await page.wait_for_url(f"{served}/?sort=phase&q=mobile")
        poll = await page.get_attribute("#poll", "hx-get")
        assert poll == "/overview/rows?sort=phase&q=mobile"  # what the 15 s polling asks for
        async with page.expect_response(f"{served}{poll}"):
            await page.evaluate(f"htmx.ajax('GET', '{poll}', '#overview')")
        assert "sorted by phase" in await page.inner_text("#overview .updated")

        await page.goto(f"{served}/operators/alpha")
        assert await page.locator("text=SLA statements by month").count() == 1
        await screenshot(page, tmp_path, "operator")

        await page.goto(f"{served}/status")
        assert await page.locator(".service").count() == 4
        assert await page.locator(".badge.down").count() == 4
        await screenshot(page, tmp_path, "status")
        feed = await page.goto(f"{served}/status/feed.atom")
        assert feed is not None
        assert "global production" in await feed.text()

        phone = await guarded.context(390, 844)
        await phone.add_cookies(await context.cookies())  # type: ignore[arg-type]
        small = await guarded.page(phone)
        await small.goto(f"{served}/")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # no sideways scrolling on a phone
        await screenshot(small, tmp_path, "overview-phone")
    assert (tmp_path / "overview.png").stat().st_size > 0


async def test_an_operator_sees_its_pages_only_and_downloads_an_sla_csv(
    served: str, sessions: Sessions, clock: FrozenClock, tmp_path: Path
) -> None:
    await seed_operators(sessions, clock)
    runs = await onboard_with_runs(sessions, clock)
    await seed_traffic(sessions, clock)
    made = await incidents_and_windows(sessions, clock)
    incident, window = made["incident"], made["window"]
    token = await operator_token(sessions, clock, "alpha")
    async with guarded_browser(served) as guarded:
        context = await guarded.context()
        page = await guarded.page(context)
        await guarded.sign_in(page, token)
        assert page.url == f"{served}/operators/alpha"  # lands on its own operator page
        assert await page.locator("h1").inner_text() == "Alpha Mobile alpha"
        await screenshot(page, tmp_path, "operator")

        own = [
            f"{served}/operators/alpha/onboarding",
            f"{served}/operators/alpha/conformance/{runs['alpha']}",
            f"{served}/operators/alpha/sla/{MONTH}",
            f"{served}/incidents/{incident['alpha']}",
            f"{served}/maintenance/{window['alpha']}",
        ]
        for url in own:
            assert await status_of(page, url) == 200, url
            await screenshot(page, tmp_path, url.rsplit("/", 2)[-2] + "-" + url.rsplit("/")[-1])
        others = [
            f"{served}/operators/bravo",
            f"{served}/operators/bravo/onboarding",
            f"{served}/operators/bravo/sla/{MONTH}",
            f"{served}/operators/bravo/conformance/{runs['bravo']}",
            f"{served}/operators/alpha/conformance/{runs['bravo']}",
            f"{served}/operators/bravo/maintenance.ics",
            f"{served}/incidents/{incident['bravo']}",
            f"{served}/maintenance/{window['bravo']}",
            f"{served}/",  # the platform's overview: back to its own page
        ]
        for url in others[:-1]:
            assert await status_of(page, url) == 404, url
            content = await page.content()
            assert "Page not found" in content or "does not exist" in content, url
            assert "Bravo" not in content, url
        await screenshot(page, tmp_path, "another-operator-404")
        # Chromium logs each 404 page as a console error: exactly those, and nothing else
        not_found = [e for e in guarded.errors if "status of 404" in e]
        assert len(not_found) == len(others) - 1
        guarded.errors[:] = [e for e in guarded.errors if e not in not_found]
        await page.goto(others[-1])
        assert page.url == f"{served}/operators/alpha"

        phone = await guarded.context(390, 844)
        await phone.add_cookies(await context.cookies())  # type: ignore[arg-type]
        small = await guarded.page(phone)
        for url in [f"{served}/operators/alpha", *own[:3]]:
            await small.goto(url)
            width = await small.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, url  # wide tables scroll inside their box, not the page
        await screenshot(small, tmp_path, "sla-phone")

        await page.goto(f"{served}/operators/alpha/sla/{MONTH}")
        async with page.expect_download() as download_info:
            await page.click(f'a[href^="/operators/alpha/sla/{MONTH}.csv"] >> nth=0')
        download = await download_info.value
        assert download.suggested_filename == f"sla-alpha-{MONTH}.csv"
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        rows = list(csv.DictReader(io.StringIO(saved.read_text())))
        assert rows
        assert {r["operatorId"] for r in rows} == {"alpha"}
        assert {r["period"] for r in rows} == {MONTH}
        assert {r["environment"] for r in rows} == {"production"}
        assert all(r["availabilityPercent"] == "100" for r in rows)
        assert all(re.fullmatch(r"\d+", r["probes"]) and int(r["probes"]) > 0 for r in rows)
