"""How a portal session ends without a purchase: Cancel on any step (spec 1.6 cancel row,
2.2.4 ``notifyCancelledPurchase``) and ES2+ failures (``ServiceError``, nothing charged)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from mobileplans.db.session import session_scope
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    CARD,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    OPERATOR,
    Page,
    PortalBrowser,
    Sessions,
    Stack,
    buy,
    esim_launch,
    events_of,
    meta,
    orders,
    running_stack,
    sign_up,
    sim,
    taken_profiles,
)
from tests.support import free_port


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=1) as running:
        yield running


async def walk_to(browser: PortalBrowser, step: str, *, iccids: str | None = None) -> Page:
    """Launch and sign in with the demo account, then go forward until ``step`` shows."""
    launch = esim_launch(transactionId=f"cancel-{step}.1")
    if iccids:
        launch["iccids"] = iccids
    page = await browser.launch(launch)
    answers = {
        "signin": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        "account": {},
        "plans": {"plan": ""},
        "checkout": CARD,
        "terms": {"acceptTerms": "yes"},
    }
    for _ in range(8):
        if page.step == step:
            return page
        fields = dict(answers[page.step or ""])
        if page.step == "plans":
            fields["plan"] = page.form.plan_codes["contoso-1gb-day"]
        page = await browser.submit(page, **fields)
    raise AssertionError(f"never reached {step}")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("signin", meta("Bailed", "None", "None", "Cancelled", "")),
        ("account", meta("Existing", "None", "Bailed", "Cancelled", "")),
        ("plans", meta("Existing", "None", "Bailed", "Cancelled", "")),
        ("checkout", meta("Existing", "Bailed", "Bailed", "Cancelled", "")),
        ("terms", meta("Existing", "New", "Bailed", "Cancelled", "")),
        ("review", meta("Existing", "New", "Bailed", "Cancelled", "")),
    ],
)
async def test_cancel_on_each_step(
    stack: Stack, sessions: Sessions, step: str, expected: dict[str, str]
) -> None:
    async with stack.browser() as browser:
        page = await walk_to(
            browser, step, iccids=sim("active_prepaid") if step == "account" else None
        )
        assert page.form.has_cancel
        cancelled = await browser.submit(page, action="cancel")
        assert browser.http.cookies.get("mp_portal") is None  # logged out
        again = await browser.get(f"/{OPERATOR}/portal/{step}")
    assert cancelled.step == "cancelled"
    assert cancelled.path == f"/{OPERATOR}/portal/cancelled"
    assert cancelled.callback == {
        "object": "MobilePlans",
        "function": "notifyCancelledPurchase",
        "args": [expected],
    }
    assert again.step == "error"  # nothing to go back to
    assert await orders(sessions) == []
    events = await events_of(sessions, f"cancel-{step}.1")
    assert events[-2:] == ["cancelled", "callback"]


async def test_cancel_on_the_sign_up_page(stack: Stack) -> None:
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch())
        signup = await browser.get(signin.markers["data-mp-link"][0]["href"])
        cancelled = await browser.submit(signup, action="cancel")
    assert cancelled.callback is not None
    assert cancelled.callback["args"] == [meta("Bailed", "None", "None", "Cancelled", "")]


async def test_legacy_cancel_is_the_spec_abandon_example(
    sessions: Sessions, clock: FrozenClock
) -> None:
    async with running_stack(sessions, clock, profiles=0, callback_api="legacy") as stack:
        async with stack.browser() as browser:
            signin = await browser.launch(esim_launch(transactionId="MSFT_ecf5a4d6"))
            cancelled = await browser.submit(signin, action="cancel")
    assert cancelled.callback is not None
    assert cancelled.callback["args"] == [
        '{"ver":"1","purchaseResult":"{\\"userAccount\\":\\"Bailed\\",\\"purchaseInstrument\\":'
        '\\"None\\",\\"line\\":\\"None\\",\\"moDirectStatus\\":\\"None\\",\\"planName\\":\\"\\"}",'
        '"success":false,"transactionId":"MSFT_ecf5a4d6","activationCode":"","iccid":""}'
    ]


async def assert_service_error(page: Page, sessions: Sessions, email: str) -> None:
    assert page.step == "error"
    assert "support@contoso.example" in page.text
    assert "not been charged" in page.text
    assert page.callback == {
        "object": "MobilePlans",
        "function": "notifyCancelledPurchase",
        "args": [meta("New", "New", "None", "ServiceError", "")],
    }
    failed = [o for o in await orders(sessions) if o.status == "failed"]
    assert len(failed) == 1
    async with session_scope(sessions) as session:
        account = await subscriber.sign_in(
            session, OPERATOR, email=email, password="correct-horse-1"
        )
        assert await subscriber.lines_of_account(session, account.id) == []
    assert account.payment_last4 is None  # the card was not kept either


async def test_no_profile_left_fails_the_order_cleanly(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch()), "first@contoso.example")
        assert (await browser.submit(await buy(browser, plans, "contoso-1gb-day"))).callback
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(transactionId="none-left.1"))
        plans = await sign_up(browser, signin, "second@contoso.example")
        page = await browser.submit(await buy(browser, plans, "contoso-1gb-day"))
    await assert_service_error(page, sessions, "second@contoso.example")
    assert await taken_profiles(sessions) == 1
    events = await events_of(sessions, "none-left.1")
    assert events[-3:] == ["es2plus", "order-failed", "callback"]


async def test_unreachable_smdp_fails_the_order_cleanly(
    sessions: Sessions, clock: FrozenClock
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with running_stack(sessions, clock, profiles=1, es2plus_url=closed) as stack:
        async with stack.browser() as browser:
            plans = await sign_up(browser, await browser.launch(esim_launch()))
            page = await browser.submit(await buy(browser, plans, "contoso-1gb-day"))
        await assert_service_error(page, sessions, "sam@contoso.example")
        assert await taken_profiles(sessions) == 0


async def test_legacy_service_error(sessions: Sessions, clock: FrozenClock) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with running_stack(
        sessions, clock, profiles=0, es2plus_url=closed, callback_api="legacy"
    ) as stack:
        async with stack.browser() as browser:
            plans = await sign_up(browser, await browser.launch(esim_launch(transactionId="E.1")))
            page = await browser.submit(await buy(browser, plans, "contoso-1gb-day"))
    assert page.step == "error"
    assert page.callback is not None
    payload = json.loads(page.callback["args"][0])
    assert (payload["success"], payload["transactionId"]) == (False, "E.1")
    assert json.loads(payload["purchaseResult"])["moDirectStatus"] == "ServiceError"
