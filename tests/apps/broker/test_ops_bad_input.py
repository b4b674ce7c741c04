"""Bad input on the operations API (incidents, ops settings, maintenance, bugs): a clear
400 naming the field, and nothing written or changed — no incident, clock, window, bug or
notification appears, and an existing record stays as it was."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import (
    Bug,
    Incident,
    IncidentClock,
    IncidentEvent,
    MaintenanceWindow,
    Notification,
    OperatorOpsSettings,
)
from tests.apps.broker.conftest import ADMIN, put_operator

Sessions = async_sessionmaker[AsyncSession]
TABLES = (Incident, IncidentEvent, IncidentClock, MaintenanceWindow, Bug, Notification,
          OperatorOpsSettings)  # fmt: skip
JSON = {**ADMIN, "Content-Type": "application/json"}
DECLARE = {"operatorId": "contoso", "title": "PGW down", "severity": "sev2"}


async def counts(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        return {
            t.__tablename__: int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


@pytest.fixture
async def world(client: httpx.AsyncClient) -> None:
    await put_operator(client, contacts=[{"name": "NOC", "email": "noc@contoso.example"}])


CASES: list[tuple[str, str, Any, str]] = [
    # method, path, body (str = raw bytes), field named by the problem
    ("POST", "/v1/incidents", "{not json", "body"),
    ("POST", "/v1/incidents", ["a", "list"], "body"),
    ("POST", "/v1/incidents", {**DECLARE, "title": "x" * 201}, "title"),
    ("POST", "/v1/incidents", {**DECLARE, "title": ""}, "title"),
    ("POST", "/v1/incidents", {**DECLARE, "severity": "sev9"}, "severity"),
    ("POST", "/v1/incidents", {**DECLARE, "category": "alien_invasion"}, "category"),
    ("POST", "/v1/incidents", {**DECLARE, "environment": "dev"}, "environment"),
    ("POST", "/v1/incidents", {**DECLARE, "outage": "maybe"}, "outage"),
    ("POST", "/v1/incidents", {k: v for k, v in DECLARE.items() if k != "title"}, "title"),
    ("POST", "/v1/incidents", {**DECLARE, "operatorId": None}, "operatorId"),
    ("POST", "/v1/incidents/abc/acknowledge", None, "incident_id"),
    ("GET", "/v1/incidents/breaches?from=yesterday&to=2026-11-30T00:00:00Z", None, "from"),
    ("PATCH", "/v1/operators/contoso/ops-settings", {"policy": "itil"}, "policy"),
    ("PATCH", "/v1/operators/contoso/ops-settings", {"holidayCountry": "XX"}, "holidayCountry"),
    ("PATCH", "/v1/operators/contoso/ops-settings", {"webhookUrl": "ftp://x"}, "webhookUrl"),
    ("PATCH", "/v1/operators/contoso/ops-settings", {"webhookSecret": "short"}, "webhookSecret"),
    ("PATCH", "/v1/operators/contoso/ops-settings", "{", "body"),
    ("POST", "/v1/maintenance", "{oops", "body"),
    ("POST", "/v1/maintenance", {"operatorId": "contoso", "startsAt": "2026-12-01T00:00:00",
                                 "endsAt": "2026-12-01T02:00:00Z", "impact": "x"}, "startsAt"),
    ("POST", "/v1/bugs", "[", "body"),
    ("POST", "/v1/bugs", {"operatorId": "contoso", "title": "t", "description": "d" * 20001},
     "description"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES)
async def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    sessions: Sessions,
    world: None,
    method: str,
    path: str,
    body: Any,
    field: str,
) -> None:
    before = await counts(sessions)
    if isinstance(body, str):
        response = await client.request(method, path, content=body, headers=JSON)
    else:
        response = await client.request(method, path, json=body, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field
    assert await counts(sessions) == before


async def test_a_refused_change_leaves_the_incident_as_it_was(
    client: httpx.AsyncClient, sessions: Sessions, world: None
) -> None:
    created = await client.post("/v1/incidents", json=DECLARE, headers=ADMIN)
    assert created.status_code == 201
    path = f"/v1/incidents/{created.json()['id']}"
    before = (await client.get(path, headers=ADMIN)).json()
    counted = await counts(sessions)
    for bad in [
        client.post(f"{path}/updates", json={"message": ""}, headers=ADMIN),
        client.post(f"{path}/updates", content="{", headers=JSON),
        client.post(f"{path}/communications", json={"message": "x" * 5001}, headers=ADMIN),
        client.post(f"{path}/severity", json={"severity": "high"}, headers=ADMIN),
        client.post(f"{path}/escalate", headers=ADMIN),  # no such step: 404 (D263)
        client.post(f"{path}/close", headers=ADMIN),  # not resolved yet: 409
    ]:
        response = await bad
        assert response.status_code in (400, 404, 409), response.text
        assert response.json()["status"] == response.status_code
    assert (await client.get(path, headers=ADMIN)).json() == before
    assert await counts(sessions) == counted
