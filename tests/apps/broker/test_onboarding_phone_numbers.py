"""Phone-number lookup (seed 004 step 1; spec 1.11, 2.10): E.164 prefixes in the registry,
overlaps between operators refused, ``GET /v1/phone-numbers/{e164}`` on the broker, and the
simulator's first-run eSIM step that performs it."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from mobileplans.apps.broker.app import BrokerApp
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.kit.clock import FrozenClock
from mobileplans.simulator.driver import PortalDriver
from mobileplans.simulator.endpoints import parse_endpoints
from mobileplans.simulator.runlog import ScenarioAborted, ScenarioRun
from mobileplans.simulator.scenarios.common import ScenarioContext
from mobileplans.simulator.scenarios.first_run_esim import lookup_phone_number
from tests.apps.broker.conftest import ADMIN
from tests.support import operator_data

CONTOSO = operator_data(phonePrefixes=["+1 425 555", "+1206"])
FABRIKAM = operator_data(
    "fabrikam", brand="Fabrikam", prefix="8944999", countries=["GB"], phonePrefixes=["+447911"]
)


def test_prefixes_are_validated_and_normalised() -> None:
    assert OperatorSpec.model_validate(CONTOSO).phone_prefixes == ["+1206", "+1425555"]
    for bad in ("1425", "+", "+0123", "+1-425-x"):
        with pytest.raises(ValidationError, match="phone prefix"):
            OperatorSpec.model_validate(operator_data(phonePrefixes=[bad]))


async def put(client: httpx.AsyncClient, data: dict[str, object]) -> httpx.Response:
    return await client.put(f"/v1/admin/operators/{data['id']}", json=data, headers=ADMIN)


async def test_lookup_answers_the_operator(client: httpx.AsyncClient, broker: BrokerApp) -> None:
    assert (await put(client, CONTOSO)).status_code == 201
    assert (await put(client, FABRIKAM)).status_code == 201
    await broker.state.refresh()
    found = await client.get("/v1/phone-numbers/+14255550100")
    assert found.status_code == 200, found.text
    assert found.json() == {
        "phoneNumber": "+14255550100",
        "operatorId": "contoso",
        "brandName": "Contoso Cellular",
        "environment": "production",
    }
    assert (await client.get("/v1/phone-numbers/+447911123456")).json()["operatorId"] == "fabrikam"
    missing = await client.get("/v1/phone-numbers/+33612345678")
    assert missing.status_code == 404
    for bad in ("4255550100", "+1425", "+1%20425%20555"):
        response = await client.get(f"/v1/phone-numbers/{bad}")
        assert response.status_code == 400, bad
        assert response.json()["field"] == "phoneNumber"


async def test_overlapping_prefixes_are_refused(
    client: httpx.AsyncClient, broker: BrokerApp
) -> None:
    assert (await put(client, CONTOSO)).status_code == 201
    clash = operator_data(
        "fabrikam", brand="Fabrikam", prefix="8944999", phonePrefixes=["+14255551"]
    )
    response = await put(client, clash)
    assert response.status_code == 409
    assert "+14255551 of fabrikam overlaps +1425555 of contoso" in response.json()["detail"]
    assert (await client.get("/v1/admin/operators/fabrikam", headers=ADMIN)).status_code == 404


async def _no_driver(language: str, hosts: tuple[str, ...]) -> PortalDriver:
    raise AssertionError("the lookup step opens no portal")


@pytest.mark.parametrize(("operator_id", "outcome"), [("contoso", "pass"), ("fabrikam", "fail")])
async def test_first_run_esim_starts_with_the_lookup(
    client: httpx.AsyncClient, broker: BrokerApp, clock: FrozenClock, operator_id: str, outcome: str
) -> None:
    assert (await put(client, CONTOSO)).status_code == 201
    await broker.state.refresh()
    endpoints = parse_endpoints(
        {"broker": "http://broker", "demo": {"phone_number": "+14255550100"}}
    )
    run = ScenarioRun("first-run-esim", "http")
    ctx = ScenarioContext(endpoints, operator_id, run, client, clock, _no_driver)
    try:
        await lookup_phone_number(ctx)
    except ScenarioAborted:
        pass
    [step] = run.steps
    assert step.name == "phone-number lookup"
    assert step.outcome.value == outcome, step.detail
    assert "contoso" in step.detail
