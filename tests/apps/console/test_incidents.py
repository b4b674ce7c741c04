"""The console's incident pages in-process: list and filters, isolation (404 as in the API),
the detail page's countdowns, actions through the API's services with their errors, the
notification rows, and phone escalation call tasks (issue #10)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from mobileplans.config import Settings
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.incident import lifecycle
from mobileplans.domains.incident import service as incidents
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import DeclareIncident
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import TOKEN, Sessions, operator_token, seed_operators, sign_in

CTX = NotifyContext(list(Settings().platform_contacts))
PHONES = [
    {"name": "Alpha NOC", "email": "noc@alpha.example", "phone": "+14255550150"},
    {"name": "Alpha duty", "phone": "+14255550151", "severity": "sev1"},
]


async def declare(
    sessions: Sessions, clock: FrozenClock, operator: str, severity: str, title: str
) -> int:
    spec = DeclareIncident.model_validate(
        {"operatorId": operator, "title": title, "severity": severity, "category": "other"}
    )
    async with session_scope(sessions) as session:
        found = await incidents.declare(session, CTX, PLATFORM_ADMIN, spec, now=clock.now())
    return found.id


async def give_phones(sessions: Sessions, clock: FrozenClock) -> None:
    async with session_scope(sessions) as session:
        alpha = await registry_service.get_operator(session, "alpha")
        data = alpha.model_dump(by_alias=True, mode="json")
        data["contacts"] = PHONES
        spec = OperatorSpec.model_validate(data)
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())


async def csrf_of(client: httpx.AsyncClient, url: str) -> str:
    page = await client.get(url)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def post(client: httpx.AsyncClient, url: str, page: str, **fields: str) -> httpx.Response:
    return await client.post(url, data={"csrf": await csrf_of(client, page), **fields})


@pytest.fixture
async def world(sessions: Sessions, clock: FrozenClock) -> dict[str, int]:
    await seed_operators(sessions, clock)
    alpha = await declare(sessions, clock, "alpha", "sev1", "Alpha GetBalance down")
    bravo = await declare(sessions, clock, "bravo", "sev2", "Bravo portal slow")
    async with session_scope(sessions) as session:
        await incidents.apply_step(
            session, CTX, PLATFORM_ADMIN, bravo, lifecycle.resolve, "", now=clock.now()
        )
    return {"alpha": alpha, "bravo": bravo}


def titles(html: str) -> set[str]:
    return {t for t in ("Alpha GetBalance down", "Bravo portal slow") if t in html}


async def test_list_filters(client: httpx.AsyncClient, world: dict[str, int]) -> None:
    await sign_in(client, TOKEN)
    everything = await client.get("/incidents")
    assert everything.status_code == 200
    assert titles(everything.text) == {"Alpha GetBalance down", "Bravo portal slow"}
    cases = {
        "?status=open": {"Alpha GetBalance down"},
        "?status=resolved": {"Bravo portal slow"},
        "?status=closed": set(),
        "?severity=sev2": {"Bravo portal slow"},
        "?operator=alpha": {"Alpha GetBalance down"},
        "?environment=staging": set(),
        "?environment=production&severity=sev1": {"Alpha GetBalance down"},
    }
    for query, expected in cases.items():
        assert titles((await client.get(f"/incidents{query}")).text) == expected, query


async def test_an_operator_sees_only_its_own_and_the_rest_is_404(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock, world: dict[str, int]
) -> None:
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    listing = await client.get("/incidents?operator=bravo")
    assert titles(listing.text) == {"Alpha GetBalance down"}
    assert 'name="operator"' not in listing.text  # no operator filter for an operator
    theirs = await client.get(f"/incidents/{world['bravo']}")
    assert theirs.status_code == 404
    assert "Bravo" not in theirs.text
    acted = await post(
        client, f"/incidents/{world['bravo']}/acknowledge", f"/incidents/{world['alpha']}"
    )
    assert acted.status_code == 404
    assert (await client.get(f"/incidents/{world['bravo']}/clocks")).status_code == 404
    assert (await client.get("/incidents/calls?operator=bravo")).status_code == 404
    assert (await client.get("/incidents/999999")).status_code == 404


async def test_acknowledge_and_update_move_the_clocks_and_queue_notifications(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock, world: dict[str, int]
) -> None:
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    url = f"/incidents/{world['alpha']}"
    clock.advance(timedelta(minutes=12))
    before = await client.get(url)
    assert "due in 1 h 48 min" in before.text  # Sev 1 updates every 2 h from contact
    assert "Outage / Disaster" in before.text
    acked = await post(client, f"{url}/acknowledge", url, message="NOC on it")
    assert acked.status_code == 303
    assert acked.headers["location"] == url
    after = (await client.get(url)).text
    assert 'class="status">acknowledged' in after
    assert after.count('class="notification') > before.text.count('class="notification')
    assert "<td>incident.acknowledged</td>" in after  # the acknowledgement's notification rows
    clock.advance(timedelta(minutes=3))
    updated = await post(client, f"{url}/update", url, message="restarting the GetBalance pool")
    assert updated.status_code == 303
    page = (await client.get(url)).text
    assert "met in time" in page
    assert "due in 2 h 00 min" in page  # the next update clock started at this update
    assert "restarting the GetBalance pool" in page
    assert "<td>incident.update</td>" in page
    clock.advance(timedelta(hours=2, minutes=5))
    clocks = await client.get(f"{url}/clocks", headers={"HX-Request": "true"})
    assert "<html" not in clocks.text
    assert 'hx-trigger="every 15s"' in clocks.text
    assert "breached 5 min ago" in clocks.text


async def test_forms_refuse_what_the_api_refuses(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock, world: dict[str, int]
) -> None:
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    url = f"/incidents/{world['alpha']}"
    empty = await post(client, f"{url}/update", url, message="")
    assert empty.status_code == 400
    assert "field-error" in empty.text
    assert "at least 1 character" in empty.text
    regrade = await post(client, f"{url}/severity", url, severity="sev3")
    assert regrade.status_code == 403
    assert "only the platform side can change" in regrade.text
    close = await post(client, f"{url}/close", url)
    assert close.status_code == 403
    no_csrf = await client.post(f"{url}/acknowledge", data={"message": "x"})
    assert no_csrf.status_code == 403
    assert (await post(client, f"{url}/explode", url)).status_code == 404
    bad = await post(client, "/incidents", "/incidents", title="x", severity="sev9")
    assert bad.status_code == 400
    assert "no severity &#39;sev9&#39;" in bad.text or "no severity 'sev9'" in bad.text
    no_title = await post(client, "/incidents", "/incidents", title="", severity="sev2")
    assert no_title.status_code == 400
    assert "at least 1 character" in no_title.text
    page = (await client.get(url)).text
    assert 'class="status">contacted' in page  # nothing above changed the incident


async def test_declare_from_the_page(client: httpx.AsyncClient, world: dict[str, int]) -> None:
    await sign_in(client, TOKEN)
    made = await post(
        client, "/incidents", "/incidents", operatorId="charlie", title="Charlie core down",
        severity="sev2", category="scenario_down", environment="production",
    )  # fmt: skip
    assert made.status_code == 303
    page = await client.get(made.headers["location"])
    assert "Charlie core down" in page.text
    assert "Service Disruption" in page.text
    again = await post(
        client, "/incidents", "/incidents", operatorId="charlie", title="again",
        severity="sev2", category="scenario_down",
    )  # fmt: skip
    assert again.status_code == 400
    assert "already open" in again.text


async def test_phone_escalation_tasks_and_calls(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await give_phones(sessions, clock)
    incident = await declare(sessions, clock, "alpha", "sev1", "Alpha all failing")
    url = f"/incidents/{incident}"
    await sign_in(client, TOKEN)
    owed = await client.get("/incidents/calls", headers={"HX-Request": "true"})
    assert "Calls you must make" in owed.text
    assert "+14255550151" in owed.text  # the Sev 1 contact comes first
    overview = await client.get("/")
    assert 'hx-get="/incidents/calls"' in overview.text
    operator_page = await client.get("/operators/alpha")
    assert 'hx-get="/incidents/calls?operator=alpha"' in operator_page.text
    page = (await client.get(url)).text
    task = re.search(r'name="task" value="(\d+)"', page)
    assert task
    missed = await post(client, f"{url}/call", url, task=task.group(1), outcome="no_answer")
    assert missed.status_code == 303
    page = (await client.get(url)).text
    assert re.search(r"\+14255550150</span> Alpha NOC <strong>← call next", page)
    nobody = await post(client, f"{url}/call", url, task=task.group(1), outcome="reached")
    assert nobody.status_code == 400
    assert "name who was reached" in nobody.text
    done = await post(
        client, f"{url}/call", url, task=task.group(1), outcome="acknowledged", reached="Ana"
    )
    assert done.status_code == 303
    page = (await client.get(url)).text
    assert 'class="status">acknowledged' in page
    assert "reached Ana, who acknowledged the incident" in page  # on the timeline
    assert "Record the call" not in page
    owed = await client.get("/incidents/calls", headers={"HX-Request": "true"})
    assert "Calls you must make" not in owed.text


async def test_the_operator_does_not_record_the_platforms_call(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    await seed_operators(sessions, clock)
    await give_phones(sessions, clock)
    incident = await declare(sessions, clock, "alpha", "sev1", "Alpha all failing")
    await sign_in(client, await operator_token(sessions, clock, "alpha"))
    page = (await client.get(f"/incidents/{incident}")).text
    assert "the platform side phones the operator side" in page
    assert "Record the call" not in page
    owed = await client.get("/incidents/calls?operator=alpha")
    assert "Calls you must make" not in owed.text  # the platform must call, not alpha
