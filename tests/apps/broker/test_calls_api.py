"""Phone escalation API: an incident's call tasks and the calls recorded for them."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN, put_operator
from tests.apps.broker.test_incidents_api import token

Sessions = async_sessionmaker[AsyncSession]
NOC = {"name": "Contoso NOC", "email": "noc@contoso.example", "phone": "+14255550150"}
BACKUP = {"name": "Backup", "phone": "+14255550151", "severity": "sev1"}


@pytest.fixture
async def parties(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> tuple[dict[str, str], dict[str, str]]:
    await put_operator(client, contacts=[NOC, BACKUP])
    await put_operator(client, operator_id="fabrikam", brand="Fabrikam", prefix="8944999")
    return await token(sessions, clock, "contoso"), await token(sessions, clock, "fabrikam")


async def sev1(client: httpx.AsyncClient) -> int:
    body = {"operatorId": "contoso", "title": "all GetBalance failing", "severity": "sev1"}
    response = await client.post("/v1/incidents", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_the_platform_phones_the_operator_and_records_the_calls(
    client: httpx.AsyncClient, parties: tuple[dict[str, str], dict[str, str]], clock: FrozenClock
) -> None:
    contoso, _ = parties
    incident = await sev1(client)
    listed = await client.get(f"/v1/incidents/{incident}/calls", headers=contoso)
    assert listed.status_code == 200
    [task] = listed.json()
    assert (task["caller"], task["callee"], task["status"]) == ("platform", "operator", "open")
    assert task["nextNumber"] == {"name": "Backup", "phone": "+14255550151"}
    url = f"/v1/incidents/{incident}/calls/{task['id']}/attempts"

    missed = await client.post(url, json={"outcome": "no_answer"}, headers=ADMIN)
    assert missed.status_code == 201, missed.text
    assert missed.json()["nextNumber"]["name"] == "Contoso NOC"
    clock.advance(timedelta(minutes=2))
    body = {"outcome": "acknowledged", "reached": "Ana", "notes": "on it"}
    done = await client.post(url, json=body, headers=ADMIN)
    assert done.status_code == 201
    assert [a["outcome"] for a in done.json()["attempts"]] == ["no_answer", "acknowledged"]
    incident_now = (await client.get(f"/v1/incidents/{incident}", headers=ADMIN)).json()
    assert incident_now["status"] == "acknowledged"
    kinds = [e["kind"] for e in incident_now["events"]]
    assert kinds[-3:] == ["call", "call", "acknowledged"]
    again = await client.post(url, json=body, headers=ADMIN)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_bad_input_and_isolation(
    client: httpx.AsyncClient, parties: tuple[dict[str, str], dict[str, str]]
) -> None:
    contoso, fabrikam = parties
    incident = await sev1(client)
    [task] = (await client.get(f"/v1/incidents/{incident}/calls", headers=ADMIN)).json()
    url = f"/v1/incidents/{incident}/calls/{task['id']}/attempts"
    bad = await client.post(url, json={"outcome": "reached"}, headers=ADMIN)
    assert (bad.status_code, bad.json()["field"]) == (400, "reached")
    unknown = await client.post(url, json={"outcome": "maybe"}, headers=ADMIN)
    assert unknown.status_code in (400, 422)
    number = await client.post(url, json={"outcome": "no_answer", "number": "+1"}, headers=ADMIN)
    assert (number.status_code, number.json()["field"]) == (400, "number")
    theirs = await client.post(url, json={"outcome": "no_answer"}, headers=contoso)
    assert theirs.status_code == 403
    other = await client.get(f"/v1/incidents/{incident}/calls", headers=fabrikam)
    assert other.status_code == 404
    other_post = await client.post(url, json={"outcome": "no_answer"}, headers=fabrikam)
    assert other_post.status_code == 404
    missing = await client.post(
        f"/v1/incidents/{incident}/calls/999999/attempts",
        json={"outcome": "no_answer"},
        headers=ADMIN,
    )
    assert missing.status_code == 404
    anonymous = await client.get(f"/v1/incidents/{incident}/calls")
    assert anonymous.status_code == 401


async def test_documented_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    post = paths["/v1/incidents/{incident_id}/calls/{task_id}/attempts"]["post"]
    assert "5.3" in post["description"]
    assert "application/problem+json" in str(post["responses"])
    assert "/v1/incidents/{incident_id}/calls" in paths
