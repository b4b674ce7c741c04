"""The incident pages in Debian's Chromium on a real socket (issue #10): the platform sees
the call it owes on its overview and records the calls on the incident page; the
operator acknowledges and posts an update from the page and sees the clocks change and the
notification rows appear; another operator's incident is 404. Fails on any console error
and on any request leaving 127.0.0.1; screenshots land in the test's tmp dir and in
``$MP_TEST_ARTIFACTS/<test name>/``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page

from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import TOKEN, Sessions, operator_token, seed_operators
from tests.apps.console.test_incidents import declare, give_phones
from tests.browser.console_support import Guarded, guarded_browser, screenshot

pytestmark = pytest.mark.browser


def expect_logged(guarded: Guarded, status: int) -> None:
    """Chromium logs a page answered 4xx as a console error: exactly one such, taken off."""
    logged = [e for e in guarded.errors if f"status of {status}" in e]
    assert len(logged) == 1, guarded.errors
    guarded.errors.remove(logged[0])


async def clock_text(page: Page, kind: str) -> str:
    rows = page.locator(f'#clocks tr[data-clock="{kind}"] .countdown')
    return await rows.last.inner_text()


async def platform_makes_the_call(
    guarded: Guarded, served: str, incident: int, tmp_path: Path
) -> None:
    context = await guarded.context()
    page = await guarded.page(context)
    await guarded.sign_in(page, TOKEN)
    owed = page.locator(".call-tasks.owed")
    await owed.wait_for()  # loaded by htmx into the overview
    assert "+14255550151" in await owed.inner_text()  # the Sev 1 contact first
    await screenshot(page, tmp_path, "overview-call-owed")
    await page.click(f'.owed-calls a[href="/incidents/{incident}#calls"]')
    await page.wait_for_url(f"{served}/incidents/{incident}#calls")
    await page.select_option(".call-form select[name=outcome]", "no_answer")
    await page.click(".call-form button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "Alpha NOC ← call next" in await page.inner_text(".numbers li.next")
    await page.select_option(".call-form select[name=outcome]", "reached")
    await page.click(".call-form button[type=submit]")  # nobody named: refused
    await page.wait_for_load_state("networkidle")
    assert "name who was reached" in await page.inner_text(".call-form .field-error")
    expect_logged(guarded, 400)
    await page.select_option(".call-form select[name=outcome]", "reached")
    await page.fill(".call-form input[name=reached]", "Ana (duty manager)")
    await page.fill(".call-form input[name=notes]", "will page the MO API team")
    await page.click(".call-form button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator(".call-form").count() == 0
    timeline = await page.inner_text(".timeline")
    assert "reached Ana (duty manager). will page the MO API team" in timeline
    await screenshot(page, tmp_path, "incident-call-recorded")
    await context.close()


async def operator_acknowledges_and_updates(
    guarded: Guarded, served: str, token: str, incident: int, clock: FrozenClock, tmp_path: Path
) -> None:
    context = await guarded.context()
    page = await guarded.page(context)
    await guarded.sign_in(page, token)
    await page.goto(f"{served}/incidents/{incident}")
    assert await clock_text(page, "update") == "due in 1 h 50 min"
    notifications = await page.locator("tr.notification").count()
    await screenshot(page, tmp_path, "incident-before")
    await page.fill('form[action$="/acknowledge"] input[name=message]', "NOC on it")
    await page.click('form[action$="/acknowledge"] button')
    await page.wait_for_load_state("networkidle")
    assert await page.inner_text("dd.status") == "acknowledged"
    assert await page.locator("tr.notification").count() > notifications
    assert await page.locator("text=incident.acknowledged").count() >= 1
    clock.advance(timedelta(minutes=5))
    await page.fill("#update-message", "GetBalance pool restarted; watching")
    await page.click('form[action$="/update"] button')
    await page.wait_for_load_state("networkidle")
    states = await page.locator('#clocks tr[data-clock="update"] .countdown').all_inner_texts()
    assert states == ["met in time", "due in 2 h 00 min"]
    assert await page.locator("text=incident.update").count() >= 1
    clock.advance(timedelta(minutes=10))
    async with page.expect_response(f"{served}/incidents/{incident}/clocks"):
        await page.evaluate(
            f"htmx.ajax('GET', '/incidents/{incident}/clocks', "
            "{target: '#clocks', swap: 'outerHTML'})"
        )
    await page.locator("#clocks").wait_for()
    assert await clock_text(page, "update") == "due in 1 h 50 min"
    await screenshot(page, tmp_path, "incident-after")
    other = await page.goto(f"{served}/incidents/{incident + 1}")
    assert other is not None
    assert other.status == 404
    expect_logged(guarded, 404)
    await context.close()


async def test_call_acknowledge_and_update_from_the_pages(
    served: str, sessions: Sessions, clock: FrozenClock, tmp_path: Path
) -> None:
    await seed_operators(sessions, clock)
    await give_phones(sessions, clock)
    incident = await declare(sessions, clock, "alpha", "sev1", "Alpha GetBalance down")
    await declare(sessions, clock, "bravo", "sev2", "Bravo portal slow")  # bravo's
    token = await operator_token(sessions, clock, "alpha")
    async with guarded_browser(served) as guarded:
        await platform_makes_the_call(guarded, served, incident, tmp_path)
        clock.advance(timedelta(minutes=10))
        await operator_acknowledges_and_updates(guarded, served, token, incident, clock, tmp_path)
        context = await guarded.context(width=390, height=844)  # a phone
        page = await guarded.page(context)
        await guarded.sign_in(page, TOKEN)
        await page.goto(f"{served}/incidents?status=open")
        assert await page.locator("table.incident-list tbody tr").count() == 2
        await screenshot(page, tmp_path, "incidents-phone")
        await context.close()
    assert (tmp_path / "incident-after.png").stat().st_size > 0
