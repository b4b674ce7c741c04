"""The portal in Debian's Chromium at the app's 800×600 frame (spec 2.1, 5.11): no horizontal
scrolling, nothing loaded from elsewhere, and ``portal.js`` making the ``mp-callback`` call
and showing what the app reports through the two registered script names (spec 2.2.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.async_api import Page, async_playwright

from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    CARD,
    OPERATOR,
    Sessions,
    Stack,
    esim_launch,
    running_stack,
)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
# Records what the portal asks of the app, as the app's injected objects would receive it.
RECORDER = """
window.__calls = [];
const recorder = (object) => new Proxy({}, {
  get: (target, name) => name in target ? target[name] : (...args) => {
    window.__calls.push({object, function: name, args: JSON.parse(JSON.stringify(args)),
      scripts: {registrationChangedScript: target.registrationChangedScript,
                profileActivationCompleteScript: target.profileActivationCompleteScript}});
    return {Id: "op-" + window.__calls.length};
  },
  set: (target, name, value) => { target[name] = value; return true; },
});
window.MobilePlansInlineOperations = recorder("MobilePlansInlineOperations");
window.MobilePlans = recorder("MobilePlans");
window.DataMart = recorder("DataMart");
"""


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=2) as running:
        yield running


async def fits(page: Page) -> dict[str, Any]:
    sizes: dict[str, Any] = await page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth,"
        " step: document.querySelector('main').dataset.mpStep})"
    )
    assert sizes["scroll"] <= sizes["client"], sizes
    return sizes


async def next_step(page: Page) -> str:
    async with page.expect_navigation():
        await page.click("[data-mp-next]")
    return str((await fits(page))["step"])


async def test_the_whole_purchase_in_chromium_at_800_by_600(stack: Stack) -> None:
    origin = stack.operator_url
    requested: list[str] = []
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 800, "height": 600})
        await context.add_init_script(RECORDER)
        page = await context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        launch = f"{origin}/{OPERATOR}/portal/?{urlencode(esim_launch())}"
        await page.goto(launch)
        assert (await fits(page))["step"] == "signin"
        async with page.expect_navigation():
            await page.click("[data-mp-link=signup]")
        await page.fill("[name=displayName]", "Sam Browser")
        await page.fill("[name=email]", "browser@contoso.example")
        await page.fill("[name=password]", "correct-horse-1")
        assert await next_step(page) == "plans"
        await page.check("[data-mp-plan-code=contoso-5gb-month]")
        assert await next_step(page) == "checkout"
        await page.check("[name=instrument][value=new]")
        for name in ("cardNumber", "expiry", "cvv"):
            await page.fill(f"[name={name}]", CARD[name])
        assert await next_step(page) == "terms"
        await page.check("[name=acceptTerms]")
        assert await next_step(page) == "review"
        assert await next_step(page) == "confirmation"
        await page.wait_for_function("window.__calls.length === 1")
        [call] = await page.evaluate("window.__calls")
        await page.evaluate("""mpActivationComplete(JSON.stringify(
            {activationResult: "success", iccid: "x"}))""")
        await page.evaluate("""mpRegistrationChanged(JSON.stringify(
            {networkRegistrationState: "home", iccid: "x"}))""")
        activation = await page.text_content("#mp-activation-result")
        registration = await page.text_content("#mp-registration-result")
        await page.set_viewport_size({"width": 480, "height": 600})
        await fits(page)
        await browser.close()
    assert (call["object"], call["function"]) == (
        "MobilePlansInlineOperations",
        "notifyProfileDownload",
    )
    assert call["args"][0]["moDirectStatus"] == "Complete"
    assert call["args"][1].startswith("1$")
    assert call["scripts"] == {
        "registrationChangedScript": "mpRegistrationChanged",
        "profileActivationCompleteScript": "mpActivationComplete",
    }
    assert activation == "Your eSIM is installed and active."
    assert registration == "You are connected to the network (home)."
    assert problems == []  # no script error, nothing blocked by the page's CSP
    assert requested
    assert {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in requested} == {origin}


async def test_plans_page_at_a_narrow_width_and_the_cancel_call(stack: Stack) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 360, "height": 600})
        await context.add_init_script(RECORDER)
        page = await context.new_page()
        await page.goto(f"{stack.operator_url}/{OPERATOR}/portal/?{urlencode(esim_launch())}")
        await fits(page)
        async with page.expect_navigation():
            await page.click("[data-mp-cancel]")
        assert (await fits(page))["step"] == "cancelled"
        await page.wait_for_function("window.__calls.length === 1")
        await page.click("[data-mp-close]")  # Close hands control back again
        calls = await page.evaluate("window.__calls")
        await browser.close()
    assert [(c["object"], c["function"]) for c in calls] == [
        ("MobilePlans", "notifyCancelledPurchase")
    ] * 2
    assert calls[0]["args"][0]["moDirectStatus"] == "Cancelled"
