"""The console in Debian's Chromium on a real socket: sign in as platform, the overview
(and one htmx refresh of it), a phone-sized overview, /status and its feed. Fails on any
console error and on any request leaving 127.0.0.1; screenshots land in the test's tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Route, async_playwright

from mobileplans.kit.clock import FrozenClock
from mobileplans.simulator.browser_mode import CHROMIUM, CHROMIUM_ARGS
from tests.apps.console.conftest import (
    TOKEN,
    Sessions,
    open_global_incident,
    seed_operators,
)

pytestmark = pytest.mark.browser


async def test_platform_signs_in_and_reads_the_overview_and_status(
    served: str, sessions: Sessions, clock: FrozenClock, tmp_path: Path
) -> None:
    await seed_operators(sessions, clock)
    await open_global_incident(sessions, clock)
    errors: list[str] = []
    outside: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    async def only_local(route: Route) -> None:
        if route.request.url.startswith(served + "/"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await context.route("**/*", only_local)

            await page.goto(f"{served}/")
            assert page.url == f"{served}/signin"
            await page.fill("#token", TOKEN)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{served}/")
            assert await page.locator(".card").count() == 3
            assert await page.locator("svg.chart").count() >= 3
            assert await page.evaluate("typeof htmx") == "object"
            async with page.expect_response(f"{served}/overview/rows"):
                await page.evaluate("htmx.ajax('GET', '/overview/rows', '#overview')")
            await page.locator("#overview .card").first.wait_for()
            await page.fill("#filter", "bravo")
            assert await page.locator(".card:not(.hidden)").count() == 1
            await page.fill("#filter", "")
            await page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            await page.goto(f"{served}/operators/alpha")
            assert await page.locator("text=SLA statements").count() == 1
            await page.screenshot(path=str(tmp_path / "operator.png"), full_page=True)

            await page.goto(f"{served}/status")
            assert await page.locator(".service").count() == 4
            assert await page.locator(".badge.down").count() == 4
            await page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
            feed = await page.goto(f"{served}/status/feed.atom")
            assert feed is not None
            assert "global production" in await feed.text()

            phone = await browser.new_context(viewport={"width": 390, "height": 844})
            await phone.add_cookies(await context.cookies())
            await phone.route("**/*", only_local)
            small = await phone.new_page()
            small.on("console", on_console)
            await small.goto(f"{served}/")
            width = await small.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # no sideways scrolling on a phone
            await small.screenshot(path=str(tmp_path / "overview-phone.png"), full_page=True)
        finally:
            await browser.close()
    assert errors == []
    assert outside == []
    assert (tmp_path / "overview.png").stat().st_size > 0
