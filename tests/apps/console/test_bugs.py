"""The console's bug board in-process (issue #10, spec 5.6): report from either side, the
board's columns, each platform step as a form with the API's validation and messages, the
operator's view (no platform steps, 403 if forced) and isolation (404)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from mobileplans.db.models import Bug, BugEvent, Notification
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import TOKEN, Sessions, operator_token, seed_operators, sign_in


async def csrf_of(client: httpx.AsyncClient, url: str = "/bugs") -> str:
    page = await client.get(url)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, url
    return found.group(1)


async def report(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = {
        "csrf": await csrf_of(client),
        "operatorId": "alpha",
        "environment": "production",
        "title": "Balance shows 0 MB",
        "description": "GetBalance answers 0 for active plans",
        **fields,
    }
    return await client.post("/bugs", data=form)


async def step(client: httpx.AsyncClient, url: str, name: str, **fields: str) -> httpx.Response:
    return await client.post(f"{url}/{name}", data={"csrf": await csrf_of(client, url), **fields})


async def bugs(sessions: Sessions) -> list[Bug]:
    async with session_scope(sessions) as session:
        return list((await session.scalars(select(Bug).order_by(Bug.id))).all())


def column(page: str, status: str) -> str:
    found = re.search(rf'data-status="{status}".*?</section>', page, re.S)
    assert found, status
    return found.group(0)


@pytest.fixture
async def platform(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> httpx.AsyncClient:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    return client


async def test_a_bug_walks_the_whole_workflow_on_the_board(
    platform: httpx.AsyncClient, sessions: Sessions
) -> None:
    created = await report(platform)
    assert created.status_code == 303
    [bug] = await bugs(sessions)
    url = f"/bugs/{bug.id}"
    assert created.headers["location"] == url
    board = await platform.get("/bugs")
    assert "Balance shows 0 MB" in column(board.text, "reported")
    for status in ("triaged", "approved", "rejected", "scheduled", "deployed"):
        assert "none" in column(board.text, status)
    page = await platform.get(url)
    assert f'action="/bugs/{bug.id}/triage"' in page.text
    assert "/approve" not in page.text  # only the step the status allows

    moves = [
        ("triage", {"businessJustification": "Customers see no data", "impact": "All plans"}),
        ("approve", {"reason": ""}),
        ("schedule", {"tentativeDeployDate": "2026-11-20", "note": "with release 42"}),
        ("schedule", {"tentativeDeployDate": "2026-11-27"}),
        ("deploy", {"note": "rolled out"}),
    ]
    for name, fields in moves:
        response = await step(platform, url, name, **fields)
        assert response.status_code == 303, (name, response.text)
    [bug] = await bugs(sessions)
    assert bug.status == "deployed"
    page = await platform.get(url)
    assert "Customers see no data" in page.text
    assert "2026-11-27" in page.text
    assert "Tentative deployment date: 2026-11-27 (was 2026-11-20)" in page.text
    assert "rolled out" in page.text
    assert "Next step" not in page.text
    board = await platform.get("/bugs")
    assert "Balance shows 0 MB" in column(board.text, "deployed")
    async with session_scope(sessions) as session:
        kinds = (await session.scalars(select(BugEvent.kind).order_by(BugEvent.id))).all()
        events = (await session.scalars(select(Notification.event))).all()
    assert kinds == ["reported", "triaged", "approved", "scheduled", "scheduled", "deployed"]
    assert "bug.deployed" in events


async def test_a_rejection_needs_its_reason(
    platform: httpx.AsyncClient, sessions: Sessions
) -> None:
    url = (await report(platform)).headers["location"]
    await step(platform, url, "triage", businessJustification="j", impact="i")
    refused = await step(platform, url, "reject", reason="  ")
    assert refused.status_code == 400
    assert "reason is required (spec 5.6)" in refused.text
    assert re.search(r'id="reject-reason"[^>]*aria-invalid="true"', refused.text)
    assert (await step(platform, url, "reject", reason="works as specified")).status_code == 303
    board = await platform.get("/bugs")
    assert "Balance shows 0 MB" in column(board.text, "rejected")


@pytest.mark.parametrize(
    ("name", "fields", "status", "message"),
    [
        (
            "triage",
            {"businessJustification": "", "impact": "i"},
            400,
            "businessJustification is required",
        ),
        ("triage", {"businessJustification": "j", "impact": " "}, 400, "impact is required"),
        ("approve", {}, 409, "bug 1 is reported: cannot approve it (only from triaged)"),
        ("schedule", {"tentativeDeployDate": "2026-11-20"}, 409, "cannot schedule it"),
        ("deploy", {}, 409, "cannot deploy it (only from scheduled)"),
        (
            "triage",
            {"businessJustification": "j" * 20001, "impact": "i"},
            400,
            "businessJustification",
        ),
    ],
)
async def test_each_step_refuses_what_the_api_refuses(
    platform: httpx.AsyncClient,
    sessions: Sessions,
    name: str,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    url = (await report(platform)).headers["location"]
    response = await step(platform, url, name, **fields)
    assert response.status_code == status
    assert 'role="alert"' in response.text
    assert message in response.text
    [bug] = await bugs(sessions)
    assert bug.status == "reported"


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("", "tentativeDeployDate is required"),
        ("20/11/2026", "enter a date as YYYY-MM-DD"),
        (
            "2026-11-01",
            "tentativeDeployDate 2026-11-01 is in the past (today is 2026-11-02 in UTC)",
        ),
    ],
)
async def test_a_schedule_needs_a_date_not_in_the_past(
    platform: httpx.AsyncClient, sessions: Sessions, date: str, message: str
) -> None:
    url = (await report(platform)).headers["location"]
    await step(platform, url, "triage", businessJustification="j", impact="i")
    await step(platform, url, "approve")
    response = await step(platform, url, "schedule", tentativeDeployDate=date)
    assert response.status_code == 400
    assert message in response.text
    assert re.search(r'id="tentativeDeployDate"[^>]*aria-invalid="true"', response.text)
    [bug] = await bugs(sessions)
    assert bug.status == "approved"


@pytest.mark.parametrize(
    ("fields", "status", "field", "message"),
    [
        ({"operatorId": ""}, 400, "operatorId", "operatorId is required"),
        ({"title": " "}, 400, "title", "title is required"),
        ({"title": "t" * 201}, 400, "title", "at most 200 characters"),
        ({"description": ""}, 400, "description", "description"),
        ({"environment": "lab"}, 400, "environment", "environment"),
        ({"operatorId": "nobody"}, 404, None, "nobody"),
    ],
)
async def test_a_bad_report_comes_back_in_the_form(
    platform: httpx.AsyncClient,
    sessions: Sessions,
    fields: dict[str, str],
    status: int,
    field: str | None,
    message: str,
) -> None:
    response = await report(platform, **fields)
    assert response.status_code == status
    assert message in response.text
    assert 'action="/bugs"' in response.text
    if field is not None:
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text)
    assert await bugs(sessions) == []


async def test_forms_without_the_csrf_token_do_nothing(
    platform: httpx.AsyncClient, sessions: Sessions
) -> None:
    refused = await platform.post(
        "/bugs", data={"operatorId": "alpha", "title": "t", "description": "d"}
    )
    assert refused.status_code == 403
    url = (await report(platform)).headers["location"]
    forced = await platform.post(
        f"{url}/triage", data={"businessJustification": "j", "impact": "i"}
    )
    assert forced.status_code == 403
    [bug] = await bugs(sessions)
    assert bug.status == "reported"
    assert (await step(platform, url, "explode")).status_code == 404


async def test_an_operator_reports_and_reads_only_its_own_bugs(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    bravo = (await report(client, operatorId="bravo", title="Bravo's bug")).headers["location"]
    client.cookies.clear()
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    board = await client.get("/bugs")
    assert "Bravo&#39;s bug" not in board.text
    assert "Bravo's bug" not in board.text
    assert "all operators" not in board.text
    assert '<select id="operatorId"' not in board.text
    assert (await client.get(bravo)).status_code == 404
    own = await report(client, operatorId="bravo", title="Ours")  # the session's operator wins
    assert own.status_code == 303
    mine = [b for b in await bugs(sessions) if b.title == "Ours"]
    assert [(b.operator_id, b.reported_by) for b in mine] == [("alpha", "operator")]
    page = await client.get(own.headers["location"])
    assert "Next step" not in page.text
    assert "The platform triages" in page.text
    forced = await step(
        client, own.headers["location"], "triage", businessJustification="j", impact="i"
    )
    assert forced.status_code == 403
    assert "only the platform can triage a bug (spec 5.6)" in forced.text
    other = await client.post(
        f"{bravo}/triage",
        data={"csrf": await csrf_of(client), "businessJustification": "j", "impact": "i"},
    )
    assert other.status_code == 404
    async with session_scope(sessions) as session:
        told = (
            await session.scalars(select(Notification).where(Notification.bug_id == mine[0].id))
        ).all()
    assert [n.event for n in told] == ["bug.reported"]
