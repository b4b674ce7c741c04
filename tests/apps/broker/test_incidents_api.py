"""Incidents API: two-way escalation, clocks, outage communication and who may see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.models import Notification
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access
from mobileplans.domains.incident import clocks
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN, put_operator

Sessions = async_sessionmaker[AsyncSession]
OUTAGE = {
    "category": "core_network_outage",
    "title": "PGW down in region east",
    "severity": "sev2",
    "outage": True,
}


async def token(sessions: Sessions, clock: FrozenClock, operator_id: str) -> dict[str, str]:
    async with session_scope(sessions) as session:
        issued = await access.create_credential(
            session, operator_id=operator_id, name="noc", now=clock.now()
        )
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
async def parties(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> tuple[dict[str, str], dict[str, str]]:
    await put_operator(client, contacts=[{"name": "NOC", "email": "noc@contoso.example"}])
    await put_operator(client, operator_id="fabrikam", brand="Fabrikam", prefix="8944999")
    return await token(sessions, clock, "contoso"), await token(sessions, clock, "fabrikam")


async def declare(client: httpx.AsyncClient, headers: dict[str, str], **extra: object) -> dict:
    response = await client.post("/v1/incidents", json={**OUTAGE, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def clock_of(incident: dict, name: str) -> dict:
    [found] = [c for c in incident["clocks"] if c["clock"] == name and not c["cancelledAt"]]
    return dict(found)


async def test_an_operator_declares_an_outage_toward_the_platform(
    client: httpx.AsyncClient, parties: tuple[dict[str, str], dict[str, str]], clock: FrozenClock
) -> None:
    contoso, _ = parties
    incident = await declare(client, contoso)
    assert incident["operatorId"] == "contoso"
    assert (incident["openedBy"], incident["responder"], incident["status"]) == (
        "operator",
        "platform",
        "contacted",
    )
    communication = clock_of(incident, "communication")
    assert communication["owner"] == "operator"
    assert communication["dueAt"] == (clock.now() + timedelta(minutes=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert clock_of(incident, "update")["owner"] == "platform"  # Sev 2: every 6 hours
    assert clock_of(incident, "resolution")["rule"].endswith("24 hours")
    second = await client.post("/v1/incidents", json=OUTAGE, headers=contoso)
    assert second.status_code == 400
    assert second.json()["field"] == "category"


async def test_outage_communication_met_in_time_or_breached(
    client: httpx.AsyncClient,
    parties: tuple[dict[str, str], dict[str, str]],
    sessions: Sessions,
    clock: FrozenClock,
) -> None:
    contoso, _ = parties
    on_time = await declare(client, contoso, category="scenario_down", title="portal down")
    late = await declare(client, contoso)
    clock.advance(timedelta(minutes=10))
    sent = await client.post(
        f"/v1/incidents/{on_time['id']}/communications",
        json={"message": "Portal unreachable since 09:00; engineers engaged."},
        headers=contoso,
    )
    assert clock_of(sent.json(), "communication")["metAt"] is not None
    clock.advance(timedelta(minutes=21))
    async with session_scope(sessions) as session:
        summary = await clocks.process_due(
            session, NotifyContext(list(Settings().platform_contacts)), clock.now()
        )
    assert summary.breaches == 1
    detail = (await client.get(f"/v1/incidents/{late['id']}", headers=ADMIN)).json()
    assert clock_of(detail, "communication")["breachedAt"] is not None
    assert [e["kind"] for e in detail["events"]].count("breach") == 1
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(Notification).where(Notification.event == "incident.breach")
            )
        ).all()
    assert {r.recipient for r in rows} >= {"noc@contoso.example", "mp-operations@platform.example"}
    async with session_scope(sessions) as session:  # a breach is recorded once
        assert (
            await clocks.process_due(
                session, NotifyContext(list(Settings().platform_contacts)), clock.now()
            )
        ).breaches == 0


async def test_updates_from_the_responder_meet_the_cadence(
    client: httpx.AsyncClient, parties: tuple[dict[str, str], dict[str, str]], clock: FrozenClock
) -> None:
    contoso, _ = parties
    incident = await declare(client, contoso)
    first_due = clock_of(incident, "update")["dueAt"]
    clock.advance(timedelta(hours=1))
    own = await client.post(
        f"/v1/incidents/{incident['id']}/updates", json={"message": "still down"}, headers=contoso
    )
    assert clock_of(own.json(), "update")["dueAt"] == first_due  # the declarer owes no updates
    reply = await client.post(
        f"/v1/incidents/{incident['id']}/updates", json={"message": "rerouted"}, headers=ADMIN
    )
    updates = [c for c in reply.json()["clocks"] if c["clock"] == "update"]
    assert updates[0]["metAt"] is not None
    assert updates[1]["dueAt"] == (clock.now() + timedelta(hours=6)).isoformat().replace(
        "+00:00", "Z"
    )
    resolved = await client.post(f"/v1/incidents/{incident['id']}/resolve", headers=ADMIN)
    assert resolved.json()["status"] == "resolved"
    assert (
        await client.post(f"/v1/incidents/{incident['id']}/close", headers=contoso)
    ).status_code == 403
    closed = await client.post(f"/v1/incidents/{incident['id']}/close", headers=ADMIN)
    assert closed.json()["status"] == "closed"


async def test_a_holiday_shifts_a_business_day_deadline(
    client: httpx.AsyncClient, parties: tuple[dict[str, str], dict[str, str]], clock: FrozenClock
) -> None:
    await client.put(
        "/v1/admin/operators/contoso",
        json={
            **(await client.get("/v1/admin/operators/contoso", headers=ADMIN)).json(),
            "timezone": "America/New_York",
        },
        headers=ADMIN,
    )
    patch = await client.patch(
        "/v1/operators/contoso/ops-settings", json={"policy": "dynamo"}, headers=ADMIN
    )
    assert patch.json()["holidayCountry"] == "US"
    ny = ZoneInfo("America/New_York")
    clock.set(
        datetime(2026, 11, 25, 10, tzinfo=ny).astimezone(UTC)
    )  # Wednesday before Thanksgiving
    incident = await declare(
        client,
        ADMIN,
        operatorId="contoso",
        category="reporting_failure",
        title="xDR late",
        severity="low",
        outage=False,
    )
    due = datetime.fromisoformat(clock_of(incident, "response")["dueAt"])
    assert due.astimezone(ny) == datetime(2026, 11, 27, 10, tzinfo=ny)  # Friday, not Thursday
    assert clock_of(incident, "update")["rule"].endswith("7 days")


async def test_operators_see_and_change_only_their_own_incidents(
    client: httpx.AsyncClient,
    parties: tuple[dict[str, str], dict[str, str]],
    sessions: Sessions,
    clock: FrozenClock,
) -> None:
    contoso, fabrikam = parties
    incident = await declare(client, contoso)
    path = f"/v1/incidents/{incident['id']}"
    assert (await client.get(path, headers=fabrikam)).status_code == 404
    for action, body in [
        ("acknowledge", None),
        ("updates", {"message": "x"}),
        ("resolve", None),
        ("communications", {"message": "x"}),
    ]:
        response = await client.post(f"{path}/{action}", json=body, headers=fabrikam)
        assert response.status_code == 404, action
    assert (await client.get("/v1/incidents", headers=fabrikam)).json() == []
    assert [i["id"] for i in (await client.get("/v1/incidents", headers=contoso)).json()] == [
        incident["id"]
    ]
    other = await client.post(
        "/v1/incidents", json={**OUTAGE, "operatorId": "contoso"}, headers=fabrikam
    )
    assert other.status_code == 403
    assert (
        await client.get("/v1/incidents?operatorId=contoso", headers=fabrikam)
    ).status_code == 403
    assert (
        await client.get("/v1/operators/contoso/ops-settings", headers=fabrikam)
    ).status_code == 404
    assert (
        await client.patch(
            "/v1/operators/fabrikam/ops-settings", json={"policy": "dynamo"}, headers=fabrikam
        )
    ).status_code == 403
    assert (
        await client.post(f"{path}/severity", json={"severity": "sev1"}, headers=contoso)
    ).status_code == 403
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers={"Authorization": "Bearer mpo_nope"})).status_code == 401
    async with session_scope(sessions) as session:
        for row in await access.list_credentials(session):
            if row.operator_id == "contoso":
                await access.revoke(session, row.id, now=clock.now())
    assert (await client.get(path, headers=contoso)).status_code == 401


async def test_a_severity_outside_the_policy_is_refused(
    client: httpx.AsyncClient, parties: tuple[dict[str, str], dict[str, str]]
) -> None:
    contoso, _ = parties
    response = await client.post(
        "/v1/incidents", json={**OUTAGE, "severity": "high"}, headers=contoso
    )
    assert response.status_code == 400
    assert response.json()["field"] == "severity"
    assert "sev1, sev2, sev3" in response.json()["detail"]
