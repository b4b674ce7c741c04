"""The console's maintenance and bug pages in Debian's Chromium on a real 127.0.0.1 socket
(issue #10): announce a window with four business days' notice and watch the late-notice
warning appear live as the start is typed, submit it, find it on the calendar, load the
operator's .ics feed, and move a bug one step on the board. Fails on any console error or
any request leaving 127.0.0.1; a screenshot of each page lands in the test's tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.bug import service as bug_service
from mobileplans.domains.bug.schemas import BugReportIn
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import TOKEN, Sessions, seed_operators
from tests.browser.console_support import guarded_browser

pytestmark = pytest.mark.browser

# The console's clock: Monday 2026-11-02 09:00 UTC; alpha is in UTC with US holidays.
TIMELY = "2026-11-09T09:00"  # five business days
FOUR_DAYS = "2026-11-06T09:00"  # four: late notice


async def shot(page: Page, tmp_path: Path, name: str) -> None:
    await page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


async def test_announce_with_late_notice_see_the_calendar_and_ics_then_move_a_bug(
    served: str, sessions: Sessions, clock: FrozenClock, tmp_path: Path
) -> None:
    await seed_operators(sessions, clock)
    async with session_scope(sessions) as session:
        spec = BugReportIn(operator_id="alpha", title="Balance shows 0 MB", description="d")
        bug = await bug_service.report(session, PLATFORM_ADMIN, spec, contacts=[], now=clock.now())
    async with guarded_browser(served) as guarded:
        context = await guarded.context()
        page = await guarded.page(context)
        await guarded.sign_in(page, TOKEN)

        await page.goto(f"{served}/maintenance/new")
        check = page.locator("#notice-check")
        assert "Choose the operator" in await check.inner_text()
        await page.select_option("#operatorId", "alpha")
        # the hint before and after choosing share data-state=none: wait for the new text
        await check.locator("[data-state=none]", has_text="Enter the start").wait_for()
        assert "Enter the start" in await check.inner_text()
        await page.fill("#startsAt", TIMELY)
        await page.wait_for_selector("#notice-check [data-state=ok]")
        assert "5 business days' notice: OK" in await check.inner_text()
        await page.fill("#startsAt", FOUR_DAYS)  # typed again: the warning comes live
        await page.wait_for_selector("#notice-check [data-state=late]")
        text = await check.inner_text()
        assert "Late notice: 4 business days" in text
        assert "earliest start with five business days' notice is 2026-11-09 09:00 UTC" in text
        await shot(page, tmp_path, "maintenance-new-late")

        await page.fill("#endsAt", "2026-11-06T11:00")
        await page.fill("#description", "Core network upgrade")
        await page.fill("#impact", "Activations may fail for 10 minutes")
        await page.click("form.maintenance-form button[type=submit]")
        await page.wait_for_url(f"{served}/maintenance/*")
        window_url = page.url
        assert "late notice" in await page.inner_text("main")
        await shot(page, tmp_path, "maintenance-detail")

        await page.goto(f"{served}/maintenance")
        window = page.locator(f'table.month a.window[href="{window_url.removeprefix(served)}"]')
        assert await window.count() == 1
        assert "alpha" in await window.inner_text()
        await shot(page, tmp_path, "maintenance-calendar")

        feed = await page.request.get(f"{served}/operators/alpha/maintenance.ics")
        assert feed.status == 200
        assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
        body = await feed.text()
        assert body.count("BEGIN:VEVENT") == 1
        assert "DTSTART:20261106T090000Z" in body
        await page.goto(f"{served}/maintenance?operator=alpha")
        assert await page.locator('a.ics[href="/operators/alpha/maintenance.ics"]').count() == 1

        await page.goto(f"{served}/bugs")
        reported = page.locator('section[data-status="reported"] a.bug-card')
        assert await reported.count() == 1
        await shot(page, tmp_path, "bugs-board")
        await reported.click()
        await page.wait_for_url(f"{served}/bugs/{bug.id}")
        await page.fill("#businessJustification", "Customers see no data left")
        await page.fill("#impact", "Every active plan")
        await page.click(f'form[action="/bugs/{bug.id}/triage"] button[type=submit]')
        await page.wait_for_url(f"{served}/bugs/{bug.id}")
        assert "Customers see no data left" in await page.inner_text("main")
        await shot(page, tmp_path, "bug-triaged")
        await page.goto(f"{served}/bugs")
        assert await page.locator('section[data-status="reported"] a.bug-card').count() == 0
        triaged = page.locator('section[data-status="triaged"] a.bug-card')
        assert "Balance shows 0 MB" in await triaged.inner_text()
        await shot(page, tmp_path, "bugs-board-after")

        phone = await guarded.context(390, 844)
        await phone.add_cookies(await context.cookies())  # type: ignore[arg-type]
        small = await guarded.page(phone)
        await small.goto(f"{served}/maintenance")
        assert await small.locator("table.month").is_hidden()  # the list instead
        assert await small.locator(".window-list li").count() == 1
        await shot(small, tmp_path, "maintenance-phone")
    for name in ("maintenance-new-late", "maintenance-calendar", "bugs-board-after"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
