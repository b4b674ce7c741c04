"""Onboarding over HTTP (spec 4.4-4.5, issue #9): an operator walked from Feasibility to
its accepted launch with the admin token and its own credential, on a frozen clock. The
production catalog, the production probes and the escalation routing change at the right
phase; another operator's credential sees nothing; bad input is a 400 naming the field."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp
from mobileplans.db.models import Notification
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN
from tests.domains.onboarding.support import (
    DEVICES_OK,
    GETBALANCE_OK,
    LIVE_DEVICE_ICCID,
    TEST_DEVICE_ICCID,
    green_probes,
    northwind,
    report,
)
from tests.support import operator_data

Sessions = async_sessionmaker[AsyncSession]
BASE = "/v1/operators/northwind/onboarding"
MANUAL = [
    ("assess-scenarios", "both"),
    ("commit", "both"),
    ("cosa-update", "operator"),
    ("code-complete", "operator"),
    ("test-sign-off", "platform"),
    ("customer-support", "both"),
    ("commercial-agreement", "operator"),
]


async def token(sessions: Sessions, clock: FrozenClock, operator_id: str) -> dict[str, str]:
    async with session_scope(sessions) as session:
        issued = await access.create_credential(
            session, operator_id=operator_id, name="pm", now=clock.now()
        )
    return {"Authorization": f"Bearer {issued.token}"}


async def providers(client: httpx.AsyncClient, broker: BrokerApp, iccid: str) -> list[str]:
    await broker.state.refresh()
    params = {"location": "FR", "environment": "production", "iccid": iccid}
    response = await client.get("/v1/providers", params=params)
    assert response.status_code == 200, response.text
    return [p["moId"] for p in response.json()["providers"]]


async def production_probes(sessions: Sessions, clock: FrozenClock) -> list[str]:
    async with session_scope(sessions) as session:
        await probe_service.sync_from_registry(session, now=clock.now())
        probes = await probe_service.list_probes(session, operator_id="northwind")
    return [p.kind for p in probes if p.environment == "production" and p.enabled]


async def routed_to(client: httpx.AsyncClient, sessions: Sessions, category: str) -> set[str]:
    body = {"operatorId": "northwind", "title": category, "severity": "sev3", "category": category}
    response = await client.post("/v1/incidents", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    incident_id = response.json()["id"]
    async with session_scope(sessions) as session:
        rows = await session.scalars(
            select(Notification.recipient).where(Notification.incident_id == incident_id)
        )
        return set(rows)


async def post(client: httpx.AsyncClient, path: str, body: object, headers: dict[str, str]) -> dict:
    response = await client.post(BASE + path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def test_walk_to_accepted_launch_over_http(
    client: httpx.AsyncClient, broker: BrokerApp, sessions: Sessions, clock: FrozenClock
) -> None:
    put = await client.put("/v1/admin/operators/northwind", json=northwind(), headers=ADMIN)
    assert put.status_code == 201, put.text
    northwind_pm = await token(sessions, clock, "northwind")
    project = await post(client, "", {"plan": "mobile-plans", "start": "2026-11-02"}, ADMIN)
    assert project["phase"] == "feasibility"
    for key, side in MANUAL:
        for headers in {
            "both": (ADMIN, northwind_pm),
            "operator": (northwind_pm,),
            "platform": (ADMIN,),
        }[side]:
            await post(client, f"/milestones/{key}", {"note": "agreed"}, headers)
    staging = report("staging", {**GETBALANCE_OK, **DEVICES_OK}, finished=clock.now())
    await post(client, "/evidence", staging, northwind_pm)
    assert await production_probes(sessions, clock) == []  # not before Rollout
    assert await routed_to(client, sessions, "other") >= {"mp-implementation@platform.example"}

    promoted = await post(client, "/promote", {"range": "test"}, ADMIN)
    assert promoted["applied"] is True
    assert await providers(client, broker, TEST_DEVICE_ICCID) == ["northwind"]
    assert await providers(client, broker, LIVE_DEVICE_ICCID) == []  # not launched yet
    refused = await client.post(BASE + "/go", json={}, headers=ADMIN)
    assert refused.status_code == 409
    assert "load-test" in refused.json()["failing"]

    await post(
        client, "/evidence", report("production", DEVICES_OK, finished=clock.now()), northwind_pm
    )
    load = report("production", {"LOAD-001": "pass"}, finished=clock.now(), kind="conformance-load")
    await post(client, "/evidence", load, northwind_pm)
    assert (await client.get(BASE, headers=ADMIN)).json()["phase"] == "rollout"
    assert await production_probes(sessions, clock)  # Rollout: production probes run
    async with session_scope(sessions) as session:
        await green_probes(session, "northwind", now=clock.now())
    verdict = (await client.get(BASE + "/go-no-go", headers=northwind_pm)).json()
    assert verdict["verdict"] == "go", [c for c in verdict["criteria"] if c["verdict"] == "fail"]
    await post(client, "/go", {"note": "ready"}, northwind_pm)
    await post(client, "/go", {"note": "ready"}, ADMIN)
    await post(client, "/promote", {"range": "full"}, ADMIN)
    assert await providers(client, broker, LIVE_DEVICE_ICCID) == []
    await post(client, "/launch", {"note": "agreed 09:00"}, ADMIN)
    assert await providers(client, broker, LIVE_DEVICE_ICCID) == ["northwind"]
    after = await routed_to(client, sessions, "endpoint_failure")
    assert "mp-operations@platform.example" in after
    assert "mp-implementation@platform.example" not in after
    accepted = await post(client, "/accept", {"note": "launch-day E2E passed"}, northwind_pm)
    assert accepted["phase"] == "post-launch"
    assert accepted["acceptedAt"] is not None


async def test_scoping_and_bad_input(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    for data in (northwind(), operator_data("contoso")):
        response = await client.put(f"/v1/admin/operators/{data['id']}", json=data, headers=ADMIN)
        assert response.status_code == 201, response.text
    contoso = await token(sessions, clock, "contoso")
    await post(client, "", {"start": "2026-11-02"}, ADMIN)
    assert (await client.get(BASE, headers=contoso)).status_code == 404
    assert (await client.get(BASE)).status_code == 401
    started = await client.post(
        "/v1/operators/contoso/onboarding", json={"start": "2026-11-02"}, headers=contoso
    )
    assert started.status_code == 403
    bad_date = await client.post(
        "/v1/operators/contoso/onboarding", json={"start": "2026-13-40"}, headers=ADMIN
    )
    assert bad_date.status_code == 400
    assert "start" in bad_date.text
    edited = {**report("staging", GETBALANCE_OK, finished=clock.now()), "verdict": "fail"}
    response = await client.post(BASE + "/evidence", json=edited, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["field"] == "sha256"
    empty = await client.post(BASE + "/milestones/commit", json={"note": ""}, headers=ADMIN)
    assert empty.status_code == 400
    assert (await client.get(BASE, headers=ADMIN)).json()["evidence"] == []


async def test_a_configuration_without_the_phase_keeps_it(
    client: httpx.AsyncClient, broker: BrokerApp
) -> None:
    """An admin PUT (or config import) that does not name ``onboardingPhase`` cannot make
    an operator in onboarding live; naming it does (decision D140)."""
    assert (
        await client.put("/v1/admin/operators/northwind", json=northwind(), headers=ADMIN)
    ).status_code == 201
    await post(client, "", {"start": "2026-11-02"}, ADMIN)
    again = await client.put(
        "/v1/admin/operators/northwind", json=northwind(brandName="Northwind"), headers=ADMIN
    )
    assert again.status_code == 200, again.text
    assert again.json()["onboardingPhase"] == "feasibility"
    fresh = operator_data("contoso")
    created = await client.put("/v1/admin/operators/contoso", json=fresh, headers=ADMIN)
    assert created.json()["onboardingPhase"] == "launched"  # configured by hand: live
