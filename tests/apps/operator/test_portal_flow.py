"""The portal flow as the device simulator walks it, with the real SM-DP+ behind ES2+.

Spec 1.2 (new eSIM), 1.3 (warm physical SIM), 1.4 (top-up), 2.2.4 callbacks, 5.11 policies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from mobileplans.domains.smdp.schemas import ProfileState
from mobileplans.domains.subscriber.schemas import LineStatus, SimKind
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.esim import ActivationCode
from tests.apps.operator.portal_fixtures import (
    CARD,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    EID,
    OPERATOR,
    SCRIPTS,
    Page,
    PortalBrowser,
    Sessions,
    Stack,
    balances_of,
    buy,
    esim_launch,
    events_of,
    line_of,
    meta,
    orders,
    physical_launch,
    profile_of,
    running_stack,
    sign_up,
    sim,
    taken_profiles,
)


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=5) as running:
        yield running


def same_origin(stack: Stack, url: str) -> bool:
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return True  # relative: "/contoso/static/portal.css", "#terms"
    return f"{parts.scheme}://{parts.netloc}" == stack.operator_url


async def test_new_esim_bought_with_a_new_account(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    visited: list[Page] = []
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(transactionId="new-esim.1"))
        plans = await sign_up(browser, signin)
        review = await buy(browser, plans, "contoso-5gb-month")
        assert "Terms of Service" in review.text
        assert any(m["href"].endswith("/portal/terms") for m in review.markers["data-mp-link"])
        done = await browser.submit(review)
        visited += [signin, plans, review, done]
        assert done.step == "confirmation"
        assert browser.http.cookies.get("mp_portal") is None  # secure logout
        after = await browser.get(f"/{OPERATOR}/portal/plans")
        assert after.step == "error"  # the session is over
        assert after.callback is None
    assert done.callback is not None
    code = done.callback["args"][1]
    assert done.callback == {
        "object": "MobilePlansInlineOperations",
        "function": "notifyProfileDownload",
        "args": [meta("New", "New", "New", "Complete", "Contoso 5 GB Monthly"), code],
        "scripts": SCRIPTS,
    }
    assert not code.startswith("LPA:")
    activation = ActivationCode.parse(code)
    [order] = await orders(sessions)
    assert (order.status, order.kind, order.transaction_id) == (
        "fulfilled",
        "new-esim",
        "new-esim.1",
    )
    assert order.activation_code == code
    assert order.iccid is not None
    profile = await profile_of(sessions, order.iccid)
    assert (profile.state, profile.eid) == (ProfileState.RELEASED, EID)
    assert profile.matching_id == activation.matching_id
    assert activation.smdp_address == urlsplit(stack.smdp_url).netloc
    line = await line_of(sessions, order.iccid)
    assert line is not None
    assert (line.status, line.sim_kind, line.eid) == (LineStatus.RELEASED, SimKind.ESIM, EID)
    assert line.account_id == order.account_id
    [balance] = await balances_of(sessions, clock, order.iccid)
    assert (balance["type"], balance["dataRemaininginMB"]) == ("MODIRECTPAYG", 5120.0)
    assert await events_of(sessions, "new-esim.1") == [
        "launch",
        "signup",
        "plan-chosen",
        "checkout",
        "terms-accepted",
        "order-placed",
        "es2plus",
        "es2plus",
        "order-fulfilled",
        "callback",
    ]
    for page in visited:
        assert page.urls
        assert all(same_origin(stack, url) for url in page.urls), page.urls


async def test_existing_account_pays_with_its_saved_card(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch())
        plans = await browser.submit(signin, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        assert plans.step == "plans"
        checkout = await browser.submit(plans, plan=plans.form.plan_codes["contoso-1gb-day"])
        assert checkout.form.fields["instrument"] == "saved"  # the card on file is offered
        assert "4242" in checkout.text
        terms = await browser.submit(checkout)
        review = await browser.submit(terms, acceptTerms="yes")
        done = await browser.submit(review)
    assert done.callback is not None
    assert done.callback["args"][0] == meta(
        "Existing", "Existing", "New", "Complete", "Contoso 1 GB Day Pass"
    )


async def test_top_up_of_the_line_on_this_device_switches_to_it(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    line = sim("active_prepaid")
    before = await balances_of(sessions, clock, line)
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(iccids=line))
        account = await browser.submit(signin, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        assert account.step == "account"  # "View my account": lines and balances
        assert f'data-mp-line="{line}"' in account.response.text
        assert "5 GB left" in account.text
        plans = await browser.submit(account)
        assert plans.form.choices["line"] == [line, "new"]
        assert plans.form.fields["line"] == line  # the line on the device comes first
        done = await browser.submit(await buy(browser, plans, "contoso-1gb-day"))
    assert done.callback == {
        "object": "MobilePlansInlineOperations",
        "function": "notifyBalanceAddition",
        "args": [meta("Existing", "New", "Existing", "Complete", "Contoso 1 GB Day Pass"), line],
    }
    after = await balances_of(sessions, clock, line)
    assert len(after) == len(before) + 1
    assert await taken_profiles(sessions) == 0  # no eSIM ordered


async def test_new_esim_chosen_next_to_an_existing_line(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(iccids=sim("active_prepaid")))
        account = await browser.submit(signin, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        plans = await browser.submit(account)
        done = await browser.submit(await buy(browser, plans, "contoso-1gb-day", line="new"))
    assert done.callback is not None
    assert done.callback["function"] == "notifyProfileDownload"
    assert done.callback["args"][0]["line"] == "New"
    assert await taken_profiles(sessions) == 1


async def test_warm_physical_sim_first_run_then_top_up(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    warm = sim("warm_sim")
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(physical_launch(warm)))
        assert "Activate the SIM card ending" in plans.text
        done = await browser.submit(await buy(browser, plans, "contoso-5gb-month"))
    assert done.callback == {
        "object": "MobilePlansInlineOperations",
        "function": "notifyBalanceAddition",
        "args": [meta("New", "New", "New", "Complete", "Contoso 5 GB Monthly")],
    }
    line = await line_of(sessions, warm)
    assert line is not None
    assert line.status is LineStatus.ACTIVE
    assert line.account_id is not None
    async with stack.browser() as browser:
        signin = await browser.launch(physical_launch(warm, "again.1"))
        account = await browser.submit(
            signin, email="sam@contoso.example", password="correct-horse-1"
        )
        assert account.step == "account"
        done = await browser.submit(
            await buy(browser, await browser.submit(account), "contoso-1gb-day")
        )
    assert done.callback is not None
    assert done.callback["args"] == [
        meta("Existing", "New", "Existing", "Complete", "Contoso 1 GB Day Pass")
    ]  # the SIM in use: no iccid, nothing to switch
    assert len(await balances_of(sessions, clock, warm)) == 2


async def test_a_physical_sim_of_another_account_is_refused_after_sign_in(
    stack: Stack, sessions: Sessions
) -> None:
    warm = sim("warm_sim")
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(physical_launch(warm)))
        await browser.submit(await buy(browser, plans, "contoso-1gb-day"))
    async with stack.browser() as browser:
        signin = await browser.launch(physical_launch(warm, "intruder.1"))
        page = await browser.submit(signin, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    assert page.step == "error"
    assert page.callback is not None
    assert page.callback["args"] == [meta("Existing", "None", "None", "InvalidSIM", "")]
    assert "support@contoso.example" in page.text


async def test_delayed_profile_is_released_when_due(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch()))
        done = await browser.submit(await buy(browser, plans, "contoso-5gb-later"))
    assert done.callback is not None
    delay = done.callback["args"][2]
    assert delay == 1
    assert done.callback["scripts"] == SCRIPTS
    assert "1 minutes" in done.text
    [order] = await orders(sessions)
    assert order.status == "pending-release"
    assert order.iccid is not None
    assert (await profile_of(sessions, order.iccid)).state is ProfileState.CONFIRMED
    line = await line_of(sessions, order.iccid)
    assert line is not None
    assert line.status is LineStatus.RESERVED
    clock.advance(timedelta(seconds=stack.site.download_delay_minute_seconds * 1.5))
    for _ in range(200):  # the app's release loop runs every 2 s
        [order] = await orders(sessions)
        if order.status != "pending-release":
            break
        await asyncio.sleep(0.05)
    assert order.status == "fulfilled"
    assert (await profile_of(sessions, order.iccid)).state is ProfileState.RELEASED
    line = await line_of(sessions, order.iccid)
    assert line is not None
    assert line.status is LineStatus.RELEASED
    assert "profile-released" in await events_of(sessions, order.transaction_id)


async def test_legacy_operator_hands_a_datamart_string(
    sessions: Sessions, clock: FrozenClock
) -> None:
    async with running_stack(sessions, clock, profiles=2, callback_api="legacy") as stack:
        async with stack.browser() as browser:
            plans = await sign_up(browser, await browser.launch(esim_launch(transactionId="L.1")))
            done = await browser.submit(await buy(browser, plans, "contoso-5gb-later"))
        [order] = await orders(sessions)
    assert done.callback is not None
    assert (done.callback["object"], done.callback["function"]) == (
        "DataMart",
        "notifyPurchaseResult",
    )
    [payload] = done.callback["args"]
    assert payload == (
        '{"ver":"1","purchaseResult":"{\\"userAccount\\":\\"New\\",\\"purchaseInstrument\\":'
        '\\"New\\",\\"line\\":\\"New\\",\\"moDirectStatus\\":\\"Complete\\",\\"planName\\":'
        '\\"Contoso 5 GB (profile later)\\"}","success":true,"transactionId":"L.1",'
        f'"activationCode":"{order.activation_code}","iccid":"{order.iccid}"}}'
    )
    assert order.status == "fulfilled"  # legacy cannot say "later": released at once
    assert order.iccid is not None
    assert (await profile_of(sessions, order.iccid)).state is ProfileState.RELEASED


async def test_back_navigation_shows_earlier_steps_with_their_values(stack: Stack) -> None:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch()))
        review = await buy(browser, plans, "contoso-5gb-month")
        chosen = plans.form.plan_codes["contoso-5gb-month"]
        back_plans = await browser.get(f"/{OPERATOR}/portal/plans")
        assert back_plans.step == "plans"
        assert back_plans.form.fields["plan"] == chosen
        back_checkout = await browser.get(f"/{OPERATOR}/portal/checkout")
        assert back_checkout.form.fields["instrument"] == "new"
        assert back_checkout.form.fields["expiry"] == "12/30"
        assert "ending 1111" in back_checkout.text
        assert back_checkout.form.fields["cardNumber"] == ""  # never sent back
        back_terms = await browser.get(f"/{OPERATOR}/portal/terms")
        assert back_terms.form.fields["acceptTerms"] == "yes"
        forward = await browser.get(f"/{OPERATOR}/portal/review")
        assert forward.step == "review"
        assert forward.form.fields["checkoutKey"] == review.form.fields["checkoutKey"]
        day = back_plans.form.plan_codes["contoso-1gb-day"]
        checkout = await browser.submit(back_plans, plan=day)
        assert checkout.step == "checkout"
        terms = await browser.submit(checkout)  # card kept: fields left empty
        assert terms.form.fields["acceptTerms"] == "yes"  # accepted already
        again = await browser.submit(terms)
        assert again.step == "review"
        assert "Contoso 1 GB Day Pass" in again.text
        assert again.form.fields["checkoutKey"] != review.form.fields["checkoutKey"]
        stale = await browser.submit(review)  # the old review form: not an order
        assert stale.step == "review"
        assert "Contoso 1 GB Day Pass" in stale.text


async def test_steps_cannot_be_skipped(stack: Stack) -> None:
    async with stack.browser() as browser:
        await browser.launch(esim_launch())
        page = await browser.get(f"/{OPERATOR}/portal/review")
        assert (page.step, page.path) == ("signin", f"/{OPERATOR}/portal/signin")
        response = await browser.post(f"/{OPERATOR}/portal/checkout", CARD)
        assert response.url.path == f"/{OPERATOR}/portal/signin"


async def test_double_submit_is_one_order_and_one_profile(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch()))
        review = await buy(browser, plans, "contoso-5gb-month")
        data = {**review.form.fields, "action": "next"}
        path = review.form.action
        first, second = await asyncio.gather(browser.post(path, data), browser.post(path, data))
        later = await browser.post(path, data)  # pressed again after the confirmation
    pages = [Page.of(r) for r in (first, second, later)]
    assert [p.step for p in pages] == ["confirmation"] * 3
    codes = {p.callback["args"][1] for p in pages if p.callback}
    assert len(codes) == 1
    assert len(await orders(sessions)) == 1
    assert await taken_profiles(sessions) == 1


async def test_form_errors_keep_the_user_on_the_step(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(transactionId="errors.1"))
        wrong = await browser.submit(signin, email=DEMO_EMAIL, password="not-it")
        assert (wrong.step, wrong.form.fields["email"]) == ("signin", DEMO_EMAIL)
        assert "not right" in wrong.text
        plans = await browser.submit(wrong, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        none = await browser.submit(plans)
        assert none.step == "plans"
        assert "Choose a plan" in none.text
        checkout = await browser.submit(plans, plan=plans.form.plan_codes["contoso-1gb-day"])
        bad = await browser.submit(checkout, **{**CARD, "cardNumber": "4111111111111112"})
        assert bad.step == "checkout"
        assert bad.markers["data-mp-error"][0]["data-mp-error"] == "cardNumber"
        expired = await browser.submit(checkout, **{**CARD, "expiry": "10/26"})
        assert expired.markers["data-mp-error"][0]["data-mp-error"] == "expiry"
        terms = await browser.submit(checkout, **CARD)
        refused = await browser.submit(terms)
        assert refused.step == "terms"
        assert refused.markers["data-mp-error"][0]["data-mp-error"] == "acceptTerms"
    events = await events_of(sessions, "errors.1")
    assert events[:2] == ["launch", "signin-failed"]
    assert events.count("checkout-refused") == 2


async def test_sign_up_with_a_taken_email(stack: Stack) -> None:
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch())
        page = await sign_up(browser, signin, email=DEMO_EMAIL)
    assert page.step == "signup"
    assert "already exists" in page.text


async def test_static_files_are_served_from_the_operator(stack: Stack) -> None:
    async with PortalBrowser(stack.operator_url, {}) as browser:
        css = await browser.http.get(f"/{OPERATOR}/static/portal.css")
        js = await browser.http.get(f"/{OPERATOR}/static/portal.js")
        page = await browser.launch(esim_launch())
    assert css.headers["content-type"].startswith("text/css")
    assert "@media (max-width: 600px)" in css.text
    assert "overflow-x: hidden" in css.text
    assert "mp-callback" in js.text
    assert "http://" not in js.text
    assert "https://" not in js.text  # loads nothing from anywhere
    policy = page.response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert page.response.headers["cache-control"] == "no-store"


async def test_view_my_account_with_a_signed_in_session_skips_sign_in(stack: Stack) -> None:
    line = sim("active_prepaid")
    async with stack.browser() as browser:
        signin = await browser.launch(esim_launch(iccids=line, transactionId="first.1"))
        account = await browser.submit(signin, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        assert account.step == "account"
        again = await browser.launch(esim_launch(iccids=line, transactionId="second.1"))
    async with stack.browser() as other:
        fresh = await other.launch(esim_launch(iccids=line))
    assert (again.step, again.path) == ("account", f"/{OPERATOR}/portal/account")
    assert "Alex Demo" in again.text
    assert fresh.step == "signin"  # another browser: no session, sign in first
