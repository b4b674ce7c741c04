"""Re-entry after a failed eSIM download (spec 1.9, 2.1.3, 2.2.5): explain, then reuse the
activation code or re-issue the profile, with the real SM-DP+ behind ES2+."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from mobileplans.db.models import MoOrder
from mobileplans.domains.smdp.schemas import ProfileState
from mobileplans.domains.subscriber.schemas import LineStatus
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    EID,
    OPERATOR,
    SCRIPTS,
    Page,
    Sessions,
    Stack,
    balances_of,
    buy,
    esim_launch,
    events_of,
    line_of,
    meta,
    orders,
    profile_of,
    running_stack,
    sign_up,
    sim,
    taken_profiles,
)
from tests.support import valid_iccid

PASSWORD = "correct-horse-1"


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=4) as running:
        yield running


def lpa_headers(iccid: str, codes: str, stamps: str = "") -> dict[str, str]:
    return {
        "X-MP-LPAError-Codes": codes,
        "X-MP-LPAError-TimeStamps": stamps,
        "X-MP-LPAError-ICCIDs": iccid,
    }


async def bought(stack: Stack, sessions: Sessions, plan: str = "contoso-5gb-month") -> MoOrder:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch()))
        done = await browser.submit(await buy(browser, plans, plan))
    assert done.callback is not None
    [order] = await orders(sessions)
    return order


async def reenter(
    stack: Stack, iccid: str, codes: str, stamps: str = "", tx: str = "again.1", **headers: str
) -> tuple[Page, Page, Page]:
    """Launch with the LPA error headers, press Next, sign in: the three pages seen."""
    async with stack.browser(**headers) as browser:
        launch = await browser.launch(
            esim_launch(transactionId=tx), headers=lpa_headers(iccid, codes, stamps)
        )
        signin = await browser.submit(launch)
        signed = await browser.submit(signin, email="sam@contoso.example", password=PASSWORD)
        if signed.step != "reentry":
            return launch, signed, signed
        done = await browser.submit(signed)
    return launch, signed, done


async def test_a_transient_error_hands_the_same_activation_code_again(
    stack: Stack, sessions: Sessions
) -> None:
    order = await bought(stack, sessions)
    assert order.iccid is not None
    launch, signed, done = await reenter(
        stack,
        order.iccid,
        "ServerNotReachable,ServerFailure",
        "5/18/2018 11:17:23 PM,2018-05-18T23:27:33+00:00",
    )
    assert launch.step == "reentry"
    assert launch.form.has_next
    assert launch.form.has_cancel
    assert "could not reach our eSIM server" in launch.text
    assert "2018-05-18 23:17:23 UTC" in launch.text
    assert "support@contoso.example" in launch.text
    assert "Sign in to continue" in launch.text
    assert signed.step == "reentry"
    assert "same eSIM" in signed.text
    assert done.step == "confirmation"
    assert done.callback == {
        "object": "MobilePlansInlineOperations",
        "function": "notifyProfileDownload",
        "args": [
            meta("Existing", "None", "Existing", "Complete", "Contoso 5 GB Monthly"),
            order.activation_code,
        ],
        "scripts": SCRIPTS,
    }
    assert await taken_profiles(sessions) == 1  # nothing new ordered
    events = await events_of(sessions, "again.1")
    assert "reentry" in events
    assert "es2plus" not in events


async def test_an_unusable_profile_is_reissued_with_the_balance_moved(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    order = await bought(stack, sessions)
    old = order.iccid
    assert old is not None
    _, signed, done = await reenter(stack, old, "EidMismatch")
    assert "new eSIM" in signed.text
    assert done.callback is not None
    assert done.callback["function"] == "notifyProfileDownload"
    [meta_arg, code] = done.callback["args"]
    assert meta_arg == meta("Existing", "None", "Existing", "Complete", "Contoso 5 GB Monthly")
    assert code != order.activation_code
    reissue = [o for o in await orders(sessions) if o.kind == "reissue"]
    assert len(reissue) == 1
    new = reissue[0].iccid
    assert new is not None
    assert new != old
    assert (await profile_of(sessions, old)).state is ProfileState.UNAVAILABLE
    assert (await profile_of(sessions, new)).state is ProfileState.RELEASED
    old_line, new_line = await line_of(sessions, old), await line_of(sessions, new)
    assert old_line is not None
    assert new_line is not None
    assert old_line.status is LineStatus.CANCELLED
    assert (new_line.status, new_line.eid) == (LineStatus.RELEASED, EID)
    assert new_line.account_id == old_line.account_id
    assert [b["type"] for b in await balances_of(sessions, clock, old)] == ["NONE"]
    [moved] = await balances_of(sessions, clock, new)
    assert (moved["type"], moved["dataRemaininginMB"]) == ("MODIRECTPAYG", 5120.0)
    events = await events_of(sessions, "again.1")
    assert events.count("es2plus") == 3  # downloadOrder, confirmOrder, cancelOrder (old)
    assert "line-replaced" in events


async def test_a_downloaded_profile_is_reissued_whatever_the_code(
    stack: Stack, sessions: Sessions
) -> None:
    order = await bought(stack, sessions)
    assert order.iccid is not None
    async with httpx.AsyncClient(base_url=stack.operator_url) as http:
        answer = await http.post(
            f"/{OPERATOR}/gsma/rsp2/es2plus/handleDownloadProgressInfo",
            json={
                "iccid": order.iccid,
                "profileType": "contoso-consumer",
                "timestamp": "2026-11-02T09:00:00Z",
                "notificationPointId": 3,
                "notificationPointStatus": {"status": "Executed-Success"},
            },
        )
    assert answer.status_code == 204
    _, signed, done = await reenter(stack, order.iccid, "CardBusy")
    assert "new eSIM" in signed.text
    assert done.callback is not None
    assert done.callback["args"][1] != order.activation_code


async def test_delayed_profile_not_yet_released_is_handed_out_with_the_time_left(
    stack: Stack, sessions: Sessions
) -> None:
    order = await bought(stack, sessions, "contoso-5gb-later")
    assert order.iccid is not None
    _, _, done = await reenter(stack, order.iccid, "ProfileNotReleasedByOperator")
    assert done.callback is not None
    assert done.callback["args"][1:] == [order.activation_code, 1]


async def test_someone_elses_profile_is_refused(stack: Stack, sessions: Sessions) -> None:
    await bought(stack, sessions)
    async with stack.browser() as browser:
        launch = await browser.launch(
            esim_launch(transactionId="thief.1"),
            headers=lpa_headers(sim("active_prepaid"), "Other"),
        )
        signin = await browser.submit(launch)
        page = await browser.submit(signin, email="sam@contoso.example", password=PASSWORD)
    assert page.step == "error"
    assert "not on your account" in page.text
    assert page.callback is not None
    assert page.callback["args"] == [meta("Existing", "None", "None", "InvalidSIM", "")]


async def test_a_line_without_a_portal_profile_is_refused(stack: Stack) -> None:
    async with stack.browser() as browser:
        launch = await browser.launch(
            esim_launch(), headers=lpa_headers(sim("active_prepaid"), "Other")
        )
        signin = await browser.submit(launch)
        page = await browser.submit(signin, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    assert page.step == "error"  # a demo line never got an activation code here
    assert page.callback is not None
    assert page.callback["args"][0]["moDirectStatus"] == "InvalidSIM"


async def test_an_iccid_unknown_to_the_operator_is_refused_at_launch(stack: Stack) -> None:
    async with stack.browser() as browser:
        page = await browser.launch(
            esim_launch(), headers=lpa_headers(valid_iccid("890199900000055555"), "Other")
        )
    assert page.step == "error"
    assert page.callback is not None
    assert page.callback["args"][0]["moDirectStatus"] == "InvalidSIM"


async def test_a_malformed_iccid_header_is_a_client_error(stack: Stack) -> None:
    async with stack.browser() as browser:
        page = await browser.launch(esim_launch(), headers=lpa_headers("12ab", "Other"))
    assert page.callback is not None
    assert page.callback["args"][0]["moDirectStatus"] == "ClientError"


async def test_unknown_codes_read_as_other_in_french(stack: Stack, sessions: Sessions) -> None:
    order = await bought(stack, sessions)
    assert order.iccid is not None
    async with stack.browser(**{"Accept-Language": "fr-FR,fr;q=0.9"}) as browser:
        page = await browser.launch(
            esim_launch(), headers=lpa_headers(order.iccid, "NeverHeardOfIt,EidMismatch")
        )
    assert page.step == "reentry"
    assert "pour une raison que le PC n'a pas précisée" in page.text
    assert "créée pour un autre appareil" in page.text
    codes = [m["data-mp-lpa-code"] for m in page.markers["data-mp-lpa-code"]]
    assert codes == ["NeverHeardOfIt", "EidMismatch"]


async def test_cancel_on_reentry(stack: Stack, sessions: Sessions) -> None:
    order = await bought(stack, sessions)
    assert order.iccid is not None
    async with stack.browser() as browser:
        launch = await browser.launch(esim_launch(), headers=lpa_headers(order.iccid, "Other"))
        cancelled = await browser.submit(launch, action="cancel")
    assert cancelled.callback is not None
    assert cancelled.callback["args"] == [meta("Bailed", "None", "None", "Cancelled", "")]


async def test_pressing_next_twice_reissues_once(stack: Stack, sessions: Sessions) -> None:
    order = await bought(stack, sessions)
    assert order.iccid is not None
    async with stack.browser() as browser:
        launch = await browser.launch(
            esim_launch(), headers=lpa_headers(order.iccid, "EidMismatch")
        )
        signin = await browser.submit(launch)
        ready = await browser.submit(signin, email="sam@contoso.example", password=PASSWORD)
        data = {**ready.form.fields, "action": "next"}
        first, second = await asyncio.gather(
            browser.post(ready.form.action, data), browser.post(ready.form.action, data)
        )
    codes = {Page.of(r).callback["args"][1] for r in (first, second)}  # type: ignore[index]
    assert len(codes) == 1
    assert await taken_profiles(sessions) == 2  # the first purchase and one re-issue
