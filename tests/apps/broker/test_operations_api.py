"""Operations API: planned maintenance (spec 5.5) and bugs (spec 5.6) over HTTP, with
operator-scoped credentials: an operator never reads or changes another operator's records
and cannot take the platform's bug steps."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Environment, PlatformContact
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN
from tests.domains.maintenance_notice.support import CONTOSO_NOC, FABRIKAM_NOC, operators, sent

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]
OPS = "ops@platform.example"
ROUTES = [
    ("GET", "/v1/maintenance"),
    ("POST", "/v1/maintenance"),
    ("GET", "/v1/maintenance/1"),
    ("POST", "/v1/maintenance/1/cancel"),
    ("GET", "/v1/bugs"),
    ("POST", "/v1/bugs"),
    ("GET", "/v1/bugs/1"),
    ("POST", "/v1/bugs/1/triage"),
    ("POST", "/v1/bugs/1/approve"),
    ("POST", "/v1/bugs/1/reject"),
    ("POST", "/v1/bugs/1/schedule"),
    ("POST", "/v1/bugs/1/deploy"),
]


@pytest.fixture(autouse=True)
def platform_contacts(settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    contact = PlatformContact(name="Ops", email=OPS, environment=Environment.PRODUCTION)
    monkeypatch.setattr(settings, "platform_contacts", [contact])


async def credential(sessions: Sessions, clock: FrozenClock, operator_id: str) -> Headers:
    async with session_scope(sessions) as session:
        issued = await access.create_credential(
            session, operator_id=operator_id, name="noc", now=clock.now()
        )
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
async def parties(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> tuple[Headers, Headers]:
    """Contoso's and Fabrikam's operator credentials (each operator has an email contact)."""
    for data in operators():
        response = await client.put(f"/v1/admin/operators/{data['id']}", json=data, headers=ADMIN)
        assert response.status_code == 201, response.text
    return await credential(sessions, clock, "contoso"), await credential(
        sessions, clock, "fabrikam"
    )


def window(clock: FrozenClock, days: float = 7, **extra: object) -> dict[str, object]:
    start = clock.now() + timedelta(days=days)
    return {
        "environment": "production",
        "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=2)).isoformat(),
        "impact": "portal read-only",
        **extra,
    }


BUG = {"title": "Balance off by one MB", "description": "rounding", "environment": "production"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_missing_invalid_or_revoked_token_is_401(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    parties: tuple[Headers, Headers],
    method: str,
    path: str,
) -> None:
    async with session_scope(sessions) as session:
        revoked = await access.create_credential(
            session, operator_id="contoso", name="old", now=clock.now()
        )
        await access.revoke(session, revoked.id, now=clock.now())
    for headers in (
        {},
        {"Authorization": "Bearer mpo_not-a-token"},
        {"Authorization": f"Basic {revoked.token}"},
        {"Authorization": f"Bearer {revoked.token}"},
    ):
        response = await client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_maintenance_is_scoped_to_the_operator(
    client: httpx.AsyncClient, clock: FrozenClock, parties: tuple[Headers, Headers]
) -> None:
    contoso, fabrikam = parties
    created = await client.post("/v1/maintenance", json=window(clock), headers=contoso)
    assert created.status_code == 201, created.text
    ours = created.json()
    assert (ours["operatorId"], ours["side"], ours["lateNotice"]) == ("contoso", "operator", False)
    assert ours["noticeBusinessDays"] == 5.0
    other = await client.post("/v1/maintenance", json=window(clock), headers=fabrikam)
    theirs = other.json()
    # naming another operator is 403; the platform must name one
    forged = await client.post(
        "/v1/maintenance", json=window(clock, operatorId="fabrikam"), headers=contoso
    )
    assert forged.status_code == 403
    anonymous = await client.post("/v1/maintenance", json=window(clock), headers=ADMIN)
    assert (anonymous.status_code, anonymous.json()["field"]) == (400, "operatorId")
    # another operator's window does not exist for fabrikam, to read or to cancel
    path = f"/v1/maintenance/{ours['id']}"
    assert (await client.get(path, headers=fabrikam)).status_code == 404
    assert (await client.post(path + "/cancel", headers=fabrikam)).status_code == 404
    assert (await client.get(path, headers=contoso)).json()["id"] == ours["id"]
    listed = await client.get("/v1/maintenance", headers=fabrikam)
    assert [w["id"] for w in listed.json()] == [theirs["id"]]
    peek = await client.get("/v1/maintenance?operatorId=contoso", headers=fabrikam)
    assert peek.status_code == 403
    every = await client.get("/v1/maintenance", headers=ADMIN)
    assert sorted(w["id"] for w in every.json()) == sorted([ours["id"], theirs["id"]])
    one = await client.get("/v1/maintenance?operatorId=fabrikam", headers=ADMIN)
    assert [w["id"] for w in one.json()] == [theirs["id"]]
    # the window is still live: fabrikam's attempts changed nothing
    assert (await client.get(path, headers=ADMIN)).json()["cancelledAt"] is None


async def test_maintenance_announcement_and_cancellation_notices(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    parties: tuple[Headers, Headers],
) -> None:
    contoso, _ = parties
    late = await client.post("/v1/maintenance", json=window(clock, days=2), headers=contoso)
    body = late.json()
    assert (body["lateNotice"], body["noticeBusinessDays"]) == (True, 2.0)
    platform = await client.post(
        "/v1/maintenance", json=window(clock, operatorId="fabrikam"), headers=ADMIN
    )
    assert platform.json()["side"] == "platform"
    # the operator cannot cancel a window the platform announced
    forbidden = await client.post(
        f"/v1/maintenance/{platform.json()['id']}/cancel", headers=parties[1]
    )
    assert forbidden.status_code == 403
    cancelled = await client.post(f"/v1/maintenance/{body['id']}/cancel", headers=contoso)
    assert cancelled.json()["cancelledAt"] == clock.now().isoformat().replace("+00:00", "Z")
    assert await sent(sessions, maintenance_id=body["id"]) == [
        ("maintenance.announced", OPS),
        ("maintenance.cancelled", OPS),
    ]
    assert await sent(sessions, maintenance_id=platform.json()["id"]) == [
        ("maintenance.announced", FABRIKAM_NOC)
    ]
    bad = await client.post(
        "/v1/maintenance", json=window(clock, endsAt=clock.now().isoformat()), headers=contoso
    )
    assert bad.status_code == 400


async def test_bug_workflow_over_http(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    parties: tuple[Headers, Headers],
) -> None:
    contoso, _ = parties
    reported = await client.post("/v1/bugs", json=BUG, headers=contoso)
    assert reported.status_code == 201, reported.text
    bug = reported.json()
    assert (bug["operatorId"], bug["status"], bug["reportedBy"]) == (
        "contoso",
        "reported",
        "operator",
    )
    base = f"/v1/bugs/{bug['id']}"
    early = await client.post(base + "/approve", headers=ADMIN)
    assert early.status_code == 409
    assert early.json()["status"] == "reported"
    missing = await client.post(
        base + "/triage", json={"businessJustification": "revenue"}, headers=ADMIN
    )
    assert (missing.status_code, missing.json()["field"]) == (400, "impact")
    steps = [
        ("/triage", {"businessJustification": "revenue", "impact": "all US users"}),
        ("/approve", None),
        ("/schedule", {"tentativeDeployDate": "2026-11-10"}),
        ("/schedule", {"tentativeDeployDate": "2026-11-12"}),
        ("/deploy", {"note": "release 42"}),
    ]
    for suffix, payload in steps:
        response = await client.post(base + suffix, json=payload, headers=ADMIN)
        assert response.status_code == 200, (suffix, response.text)
    past = await client.post(
        base + "/schedule", json={"tentativeDeployDate": "2026-11-01"}, headers=ADMIN
    )
    assert past.status_code == 409  # deployed: no more scheduling
    shown = (await client.get(base, headers=contoso)).json()
    assert shown["status"] == "deployed"
    assert shown["tentativeDeployDate"] == "2026-11-12"
    assert [e["kind"] for e in shown["events"]] == [
        "reported",
        "triaged",
        "approved",
        "scheduled",
        "scheduled",
        "deployed",
    ]
    assert ("bug.deployed", CONTOSO_NOC) in await sent(sessions, bug_id=bug["id"])
    assert ("bug.reported", OPS) in await sent(sessions, bug_id=bug["id"])


async def test_an_operator_cannot_touch_another_operators_bug_nor_take_platform_steps(
    client: httpx.AsyncClient, clock: FrozenClock, parties: tuple[Headers, Headers]
) -> None:
    contoso, fabrikam = parties
    bug = (await client.post("/v1/bugs", json=BUG, headers=contoso)).json()
    base = f"/v1/bugs/{bug['id']}"
    assert (await client.get(base, headers=fabrikam)).status_code == 404
    bodies = {
        "/triage": {"businessJustification": "x", "impact": "y"},
        "/approve": {},
        "/reject": {"reason": "no"},
        "/schedule": {"tentativeDeployDate": "2026-12-01"},
        "/deploy": {},
    }
    for suffix, body in bodies.items():
        for headers in (contoso, fabrikam):
            response = await client.post(base + suffix, json=body, headers=headers)
            assert response.status_code == 403, (suffix, response.text)
    forged = await client.post("/v1/bugs", json={**BUG, "operatorId": "contoso"}, headers=fabrikam)
    assert forged.status_code == 403
    assert (await client.get("/v1/bugs?operatorId=contoso", headers=fabrikam)).status_code == 403
    assert (await client.get("/v1/bugs", headers=fabrikam)).json() == []
    assert [b["id"] for b in (await client.get("/v1/bugs", headers=contoso)).json()] == [bug["id"]]
    # nothing moved
    assert (await client.get(base, headers=ADMIN)).json()["status"] == "reported"
    platform_bug = await client.post(
        "/v1/bugs", json={**BUG, "operatorId": "fabrikam"}, headers=ADMIN
    )
    assert platform_bug.json()["reportedBy"] == "platform"
    listed = await client.get("/v1/bugs?status=reported", headers=ADMIN)
    assert len(listed.json()) == 2
