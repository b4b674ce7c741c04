"""The console's maintenance pages in-process (issue #10, spec 5.5): the live
five-business-day check, announcing (late notice too), the calendar, a window's page,
cancellation, the completion notice, the .ics feed, both parties and isolation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from mobileplans.db.models import MaintenanceWindow, Notification
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.maintenance_notice import service as notice_service
from mobileplans.domains.maintenance_notice.schemas import NoticeIn
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import TOKEN, Sessions, operator_token, seed_operators, sign_in
from tests.support import operator_data

# The clock starts Monday 2026-11-02 09:00 UTC; the operators are in UTC and the US
# (Veterans Day, Wednesday 2026-11-11, is a public holiday).
FOUR_DAYS = "2026-11-06T09:00"  # 0.625 + 3 + 0.375 business days
TIMELY = "2026-11-09T09:00"  # exactly five
AFTER_HOLIDAY = "2026-11-12T09:00"  # seven: the 11th does not count


async def csrf_of(client: httpx.AsyncClient, url: str) -> str:
    page = await client.get(url)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, url
    return found.group(1)


async def announce(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = {
        "csrf": await csrf_of(client, "/maintenance/new"),
        "operatorId": "alpha",
        "environment": "production",
        "startsAt": FOUR_DAYS,
        "endsAt": "2026-11-06T11:00",
        "description": "Core network upgrade",
        "impact": "Activations may fail for 10 minutes",
        **fields,
    }
    return await client.post("/maintenance", data=form)


async def windows(sessions: Sessions) -> list[MaintenanceWindow]:
    async with session_scope(sessions) as session:
        return list((await session.scalars(select(MaintenanceWindow))).all())


async def notifications(sessions: Sessions, event: str) -> list[Notification]:
    async with session_scope(sessions) as session:
        rows = await session.scalars(select(Notification).where(Notification.event == event))
        return list(rows.all())


@pytest.fixture
async def platform(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> httpx.AsyncClient:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    return client


async def test_the_live_check_counts_business_days_as_the_domain_does(
    platform: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    late = await platform.get(
        "/maintenance/check", params={"operatorId": "alpha", "startsAt": FOUR_DAYS}
    )
    assert late.status_code == 200
    assert "<html" not in late.text  # a fragment for htmx to swap in
    assert 'data-state="late"' in late.text
    assert "Late notice: 4 business days" in late.text
    assert "2026-11-09 09:00 UTC" in late.text  # the earliest start with five
    ok = await platform.get(
        "/maintenance/check", params={"operatorId": "alpha", "startsAt": TIMELY}
    )
    assert "5 business days' notice: OK" in ok.text
    holiday = await platform.get(
        "/maintenance/check", params={"operatorId": "alpha", "startsAt": AFTER_HOLIDAY}
    )
    assert "7 business days" in holiday.text
    assert "2026-11-11 Veterans Day" in holiday.text
    async with session_scope(sessions) as session:
        check = await notice_service.check_notice(
            session,
            PLATFORM_ADMIN,
            "alpha",
            datetime(2026, 11, 12, 9, tzinfo=UTC),
            now=clock.now(),
        )
    assert check.business_days == 7.0


async def test_the_check_counts_in_the_operators_time_zone_and_holidays(
    platform: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    data = operator_data("delta", brand="Delta Mobile", prefix="8901994", countries=["JP"])
    data["timezone"] = "Asia/Tokyo"
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(data)
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
    # now is Monday 18:00 in Tokyo (0.25 of a day left); Tuesday 3 November is Culture Day
    response = await platform.get(
        "/maintenance/check", params={"operatorId": "delta", "startsAt": "2026-11-09T09:00"}
    )
    assert "Late notice: 4 business days" in response.text  # 5 in UTC without holidays
    assert "2026-11-10 09:00 UTC" in response.text
    assert "(2026-11-10 18:00 Asia/Tokyo)" in response.text
    assert "2026-11-03 Culture Day" in response.text
    assert "time zone Asia/Tokyo" in response.text


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"startsAt": FOUR_DAYS}, "Choose the operator"),
        ({"operatorId": "alpha"}, "Enter the start"),
        ({"operatorId": "alpha", "startsAt": "next tuesday"}, "enter a date and time"),
        ({"operatorId": "nobody", "startsAt": FOUR_DAYS}, "does not exist"),
        ({"operatorId": "alpha", "startsAt": "2026-11-02T08:59"}, "must be in the future"),
    ],
)
async def test_the_live_check_says_what_is_missing(
    platform: httpx.AsyncClient, params: dict[str, str], says: str
) -> None:
    response = await platform.get("/maintenance/check", params=params)
    assert response.status_code == 200
    assert 'data-state="none"' in response.text
    assert says in response.text


async def test_the_form_wires_the_check_to_htmx(platform: httpx.AsyncClient) -> None:
    form = await platform.get("/maintenance/new?operator=alpha")
    assert form.status_code == 200
    assert 'hx-get="/maintenance/check"' in form.text
    assert 'hx-trigger="input changed delay:300ms, change"' in form.text
    assert '<option value="alpha" selected>' in form.text
    assert "Enter the start" in form.text


async def test_a_late_notice_window_is_announced_with_the_warning(
    platform: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await announce(platform)
    assert response.status_code == 303
    [row] = await windows(sessions)
    assert response.headers["location"] == f"/maintenance/{row.id}"
    assert row.late_notice
    assert row.notice_business_days == 4.0
    assert row.side == "platform"
    assert row.operator_id == "alpha"
    assert (
        row.impact == "Core network upgrade\n\nCustomer impact: Activations may fail for 10 minutes"
    )
    detail = await platform.get(response.headers["location"])
    assert "late notice" in detail.text
    assert "2026-11-09 09:00 UTC or later" in detail.text
    assert "counts in the SLA" in detail.text
    [sent] = await notifications(sessions, "maintenance.announced")
    assert "late notice: 4 business days" in sent.subject


@pytest.mark.parametrize(
    ("fields", "status", "field", "message"),
    [
        ({"operatorId": ""}, 400, "operatorId", "operatorId is required"),
        ({"startsAt": "soon"}, 400, "startsAt", "enter a date and time"),
        ({"endsAt": "2026-11-06T08:00"}, 400, "endsAt", "endsAt must be after startsAt"),
        ({"endsAt": "2026-11-20T08:00"}, 400, "endsAt", "at most 7 days"),
        ({"startsAt": "2026-11-01T08:00"}, 400, "startsAt", "startsAt must be in the future"),
        ({"impact": "  "}, 400, "impact", "impact is required"),
        ({"impact": "x" * 2001}, 400, "impact", "limited to 2000 characters"),
        ({"environment": "lab"}, 400, "environment", "environment"),
        ({"operatorId": "nobody"}, 404, None, "nobody"),
    ],
)
async def test_bad_input_comes_back_in_the_form(
    platform: httpx.AsyncClient,
    sessions: Sessions,
    fields: dict[str, str],
    status: int,
    field: str | None,
    message: str,
) -> None:
    response = await announce(platform, **fields)
    assert response.status_code == status
    assert 'role="alert"' in response.text
    assert message in response.text
    assert 'action="/maintenance"' in response.text  # the form again, values kept
    if field is not None:
        assert f'id="{field}" name="{field}"' in response.text
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text)
    assert await windows(sessions) == []


async def test_a_form_without_the_csrf_token_does_nothing(
    platform: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await platform.post(
        "/maintenance",
        data={"operatorId": "alpha", "startsAt": TIMELY, "endsAt": AFTER_HOLIDAY, "impact": "x"},
    )
    assert response.status_code == 403
    assert await windows(sessions) == []


async def test_the_calendar_shows_windows_by_day_and_state(
    platform: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    first = (await announce(platform)).headers["location"]
    second = (
        await announce(platform, operatorId="bravo", startsAt=TIMELY, endsAt="2026-11-10T10:00")
    ).headers["location"]
    csrf = await csrf_of(platform, second)
    assert (await platform.post(f"{second}/cancel", data={"csrf": csrf})).status_code == 303
    page = await platform.get("/maintenance")
    assert page.status_code == 200
    assert "November 2026" in page.text
    assert 'href="/maintenance?month=2026-10"' in page.text
    assert 'href="/maintenance?month=2026-12"' in page.text
    assert f'class="window st-announced late" href="{first}"' in page.text
    # the bravo window runs over two UTC days: on both
    assert page.text.count(f'class="window st-cancelled" href="{second}"') == 2
    assert '<span class="badge cancelled">cancelled</span>' in page.text
    only_bravo = await platform.get("/maintenance?operator=bravo")
    assert first not in only_bravo.text
    assert second in only_bravo.text
    december = await platform.get("/maintenance?month=2026-12")
    assert "No maintenance window this month" in december.text
    bad = await platform.get("/maintenance?month=November")
    assert bad.status_code == 400
    assert "month must be YYYY-MM" in bad.text


async def test_cancel_and_complete_follow_the_service_rules(
    platform: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    url = (await announce(platform)).headers["location"]
    csrf = await csrf_of(platform, url)
    early = await platform.post(f"{url}/complete", data={"csrf": csrf})
    assert early.status_code == 409
    assert "has not started" in early.text
    assert (await platform.post(f"{url}/complete", data={})).status_code == 403
    clock.set(datetime(2026, 11, 6, 10, 30, tzinfo=UTC))
    await sign_in(platform, TOKEN)  # the 8-hour session ran out
    csrf = await csrf_of(platform, url)
    late_cancel = await platform.post(f"{url}/cancel", data={"csrf": csrf})
    assert late_cancel.status_code == 409
    assert "has started cannot be cancelled" in late_cancel.text
    done = await platform.post(f"{url}/complete", data={"csrf": csrf})
    assert done.status_code == 303
    [row] = await windows(sessions)
    assert row.completion_sent_at == clock.now()
    [sent] = await notifications(sessions, "maintenance.completed")
    assert sent.maintenance_id == row.id
    page = await platform.get(url)
    assert "completed" in page.text
    assert "Send the completion notice" not in page.text
    again = await platform.post(f"{url}/complete", data={"csrf": csrf})
    assert again.status_code == 409
    assert "already sent" in again.text
    # the notice job does not send it a second time
    async with session_scope(sessions) as session:
        counts = await notice_service.run_notices(session, clock.now() + timedelta(hours=2), [])
    assert counts.completions == 0


async def test_an_operator_sees_and_acts_on_its_own_windows_only(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    async with session_scope(sessions) as session:
        for op in ("alpha", "bravo"):
            spec = NoticeIn(
                operator_id=op,
                starts_at=datetime(2026, 11, 20, 1, tzinfo=UTC),
                ends_at=datetime(2026, 11, 20, 2, tzinfo=UTC),
                impact=f"platform work for {op}",
            )
            await notice_service.schedule(
                session, PLATFORM_ADMIN, spec, contacts=[], now=clock.now()
            )
    ids = {w.operator_id: w.id for w in await windows(sessions)}
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    page = await client.get("/maintenance")
    assert f"/maintenance/{ids['alpha']}" in page.text
    assert f"/maintenance/{ids['bravo']}" not in page.text
    assert "all operators" not in page.text  # no operator filter for an operator
    assert (await client.get(f"/maintenance/{ids['bravo']}")).status_code == 404
    csrf = await csrf_of(client, "/maintenance/new")
    assert (
        await client.post(f"/maintenance/{ids['bravo']}/cancel", data={"csrf": csrf})
    ).status_code == 404
    theirs = await client.post(f"/maintenance/{ids['alpha']}/cancel", data={"csrf": csrf})
    assert theirs.status_code == 403
    assert "cancelled by the platform only" in theirs.text
    form = await client.get("/maintenance/new")
    assert 'name="operatorId" value="alpha"' in form.text
    assert '<select id="operatorId"' not in form.text
    check = await client.get(
        "/maintenance/check", params={"operatorId": "bravo", "startsAt": TIMELY}
    )
    assert "cannot act for" in check.text
    own = await announce(client, operatorId="bravo", startsAt=TIMELY, endsAt="2026-11-09T10:00")
    assert own.status_code == 303  # the operator field is the session's, whatever is sent
    mine = [w for w in await windows(sessions) if w.side == "operator"]
    assert [(w.operator_id, w.late_notice) for w in mine] == [("alpha", False)]
    cancel = await client.post(f"{own.headers['location']}/cancel", data={"csrf": csrf})
    assert cancel.status_code == 303
    [sent] = await notifications(sessions, "maintenance.cancelled")
    assert sent.maintenance_id == mine[0].id


async def test_the_ics_feed_by_session_or_token(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await sign_in(client, TOKEN)
    url = (await announce(client)).headers["location"]
    await announce(client, startsAt=TIMELY, endsAt="2026-11-09T10:00")
    await client.post(f"{url}/cancel", data={"csrf": await csrf_of(client, url)})
    feed = await client.get("/operators/alpha/maintenance.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    body = feed.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert body.endswith("END:VCALENDAR\r\n")
    assert body.count("BEGIN:VEVENT") == 2
    window_id = url.rsplit("/", 1)[1]
    assert f"UID:maintenance-{window_id}@alpha.mobileplans\r\n" in body
    assert "DTSTART:20261106T090000Z\r\nDTEND:20261106T110000Z" in body
    assert "STATUS:CANCELLED" in body
    assert "STATUS:CONFIRMED" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert (await client.get("/operators/nobody/maintenance.ics")).status_code == 404

    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://console")
    async with anonymous:
        assert (await anonymous.get("/operators/alpha/maintenance.ics")).status_code == 401
        bad = await anonymous.get("/operators/alpha/maintenance.ics?token=mpo_wrong")
        assert bad.status_code == 401
        token = await operator_token(sessions, clock, "alpha")
        by_token = await anonymous.get(f"/operators/alpha/maintenance.ics?token={token}")
        assert by_token.status_code == 200
        assert by_token.content.decode().count("BEGIN:VEVENT") == 2
        other = await anonymous.get(f"/operators/bravo/maintenance.ics?token={token}")
        assert other.status_code == 404
        admin = await anonymous.get(f"/operators/alpha/maintenance.ics?token={TOKEN}")
        assert admin.status_code == 401  # the admin token never goes in a URL


async def test_the_pages_keep_the_strict_csp(
    platform: httpx.AsyncClient, sessions: Sessions
) -> None:
    window = (await announce(platform)).headers["location"]
    bug = await platform.post(
        "/bugs",
        data={
            "csrf": await csrf_of(platform, "/bugs"),
            "operatorId": "alpha",
            "title": "t",
            "description": "d",
        },
    )
    urls = ["/maintenance", "/maintenance/new", window, "/bugs", bug.headers["location"]]
    for url in urls:
        response = await platform.get(url)
        assert response.status_code == 200, url
        assert "default-src 'self'" in response.headers["content-security-policy"], url
        assert "<script>" not in response.text, url
        assert " style=" not in response.text, url  # no inline style either
        assert not re.search(r"(src|href|action)=\"(https?:)?//", response.text), url
