"""Portal launch (spec 2.1): parameters, refusals with their callback, languages, logging."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from mobileplans.db.session import session_scope
from mobileplans.domains.purchase import journal
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    EID,
    OPERATOR,
    Page,
    Sessions,
    Stack,
    esim_launch,
    physical_launch,
    running_stack,
    sim,
)
from tests.support import valid_iccid

UNKNOWN_ICCID = valid_iccid("890199900000077777")


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=0) as running:
        yield running


def assert_refused(page: Page, status: str) -> None:
    assert page.step == "error"
    assert page.forms == []
    assert "support@contoso.example" in page.text
    assert "+14255550100" in page.text
    assert page.callback == {
        "object": "MobilePlans",
        "function": "notifyCancelledPurchase",
        "args": [
            {
                "userAccount": "None",
                "purchaseInstrument": "None",
                "line": "None",
                "moDirectStatus": status,
                "planName": "",
            }
        ],
    }
    assert "mp_portal" in page.response.headers.get("set-cookie", "")  # deleted: logged out


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"transactionId": ""}, "transactionId"),
        ({"transactionId": "T" * 65}, "transactionId"),
        ({"eid": "1234"}, "eid"),
        ({"imei": "001102000315469"}, "imei"),
        ({"location": "Narnia"}, "location"),
        ({"iccids": "8988247000101867183,,"}, "iccids"),
        ({"iccid": sim("warm_sim")}, "iccid"),  # a physical SIM next to an eid
    ],
)
async def test_bad_parameters_show_an_error_page_reporting_client_error(
    stack: Stack, changes: dict[str, str], field: str
) -> None:
    async with stack.browser() as browser:
        params = {k: v for k, v in esim_launch(**changes).items() if v != ""}
        page = await browser.launch(params)
    assert page.response.status_code == 200
    assert_refused(page, "ClientError")
    assert field in page.text


@pytest.mark.parametrize(
    "params",
    [
        physical_launch(UNKNOWN_ICCID),  # not a SIM of ours
        physical_launch(sim("active_prepaid")),  # an eSIM passed as a physical SIM
        physical_launch(sim("not_supported")),  # excluded from Mobile Plans
        esim_launch(iccids=f"{sim('active_prepaid')},{UNKNOWN_ICCID}"),
    ],
)
async def test_a_sim_that_is_not_ours_reports_invalid_sim(
    stack: Stack, params: dict[str, str]
) -> None:
    async with stack.browser() as browser:
        page = await browser.launch(params)
    assert_refused(page, "InvalidSIM")


async def test_refused_launches_are_logged_under_their_transaction_id(
    stack: Stack, sessions: Sessions
) -> None:
    async with stack.browser() as browser:
        await browser.launch(physical_launch(UNKNOWN_ICCID, transaction_id="refused-1.1"))
        await browser.launch(esim_launch(transactionId="X" * 70))
    async with session_scope(sessions) as session:
        refused = await journal.entries(session, OPERATOR, "refused-1.1")
        invalid = await journal.entries(session, OPERATOR, journal.UNKNOWN_TRANSACTION)
    assert [event for event, _ in refused] == ["launch-refused", "callback"]
    assert refused[0][1]["status"] == "InvalidSIM"
    assert refused[0][1]["field"] == "iccid"
    assert invalid[0][1]["field"] == "transactionId"
    assert invalid[0][1]["status"] == "ClientError"


async def test_legacy_operator_reports_a_refusal_through_datamart(
    sessions: Sessions, clock: FrozenClock
) -> None:
    async with running_stack(sessions, clock, profiles=0, callback_api="legacy") as stack:
        async with stack.browser() as browser:
            page = await browser.launch(esim_launch(transactionId="legacy-1.1", imei="42"))
    assert page.step == "error"
    assert page.callback is not None
    assert (page.callback["object"], page.callback["function"]) == (
        "DataMart",
        "notifyPurchaseResult",
    )
    payload = json.loads(page.callback["args"][0])
    assert payload["success"] is False
    assert payload["transactionId"] == "legacy-1.1"
    assert json.loads(payload["purchaseResult"])["moDirectStatus"] == "ClientError"


async def test_a_valid_launch_opens_sign_in_and_ignores_unknown_parameters(
    stack: Stack, sessions: Sessions
) -> None:
    params = esim_launch(
        transactionId="MSFT_ecf5a4d6-024c", phoneNumber="+14255550100", somethingNew="1"
    )
    async with stack.browser() as browser:
        page = await browser.launch(params)
    assert page.step == "signin"
    assert page.path == f"/{OPERATOR}/portal/signin"
    assert page.form.has_next
    assert page.form.has_cancel
    assert set(page.form.fields) >= {"email", "password"}
    async with session_scope(sessions) as session:
        [(event, detail)] = await journal.entries(session, OPERATOR, "MSFT_ecf5a4d6-024c")
    assert event == "launch"
    assert detail == {"eid": EID, "imei": "001102000315468", "market": "US", "location": "US"}


async def test_trailing_f_is_stripped_from_a_physical_sim(stack: Stack, sessions: Sessions) -> None:
    async with stack.browser() as browser:
        page = await browser.launch(physical_launch(sim("warm_sim") + "F", "f-strip.1"))
    assert page.step == "signin"
    async with session_scope(sessions) as session:
        [(_, detail)] = await journal.entries(session, OPERATOR, "f-strip.1")
    assert detail["iccid"] == sim("warm_sim")


@pytest.mark.parametrize(
    ("header", "lang", "title"),
    [
        ("fr-FR", "fr", "Connexion"),
        ("fr-CA,fr;q=0.9,en;q=0.5", "fr", "Connexion"),
        ("en;q=0.5, fr;q=0.8", "fr", "Connexion"),
        ("de-DE, en;q=0.1", "en", "Sign in"),
        ("de, ja", "en", "Sign in"),
        ("fr;q=0, *;q=0.5", "en", "Sign in"),
        ("en-US", "en", "Sign in"),
        ("garbage;;q=x,,", "en", "Sign in"),
    ],
)
async def test_accept_language_picks_the_page_language(
    stack: Stack, header: str, lang: str, title: str
) -> None:
    async with stack.browser(**{"Accept-Language": header}) as browser:
        page = await browser.launch(esim_launch())
    assert f'<html lang="{lang}"' in page.response.text
    assert f"<h1>{title}</h1>" in page.response.text


async def test_french_error_page(stack: Stack) -> None:
    async with stack.browser(**{"Accept-Language": "fr"}) as browser:
        page = await browser.launch(physical_launch(UNKNOWN_ICCID))
    assert "Un problème est survenu" in page.text
    assert "Notre assistance peut vous aider" in page.text


async def test_unknown_operator_is_404(stack: Stack) -> None:
    async with stack.browser() as browser:
        response = await browser.http.get("/nobody/portal/", params=esim_launch())
    assert response.status_code == 404
