"""Regression tests for what the generated API tests found on the broker (issue #11,
tests/api_fuzz; decisions D214-D216)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from mobileplans.web.params import MAX_ROW_ID
from tests.apps.broker.conftest import ADMIN, put_operator

pytestmark = pytest.mark.usefixtures("contoso")


@pytest.fixture
async def contoso(client: httpx.AsyncClient) -> None:
    await put_operator(client)


ID_PATHS = [
    ("GET", "/v1/incidents/{id}"),
    ("POST", "/v1/incidents/{id}/resolve"),
    ("GET", "/v1/bugs/{id}"),
    ("POST", "/v1/bugs/{id}/reject"),
    ("GET", "/v1/maintenance/{id}"),
    ("GET", "/v1/sla/contoso/statements/{id}"),
    ("POST", "/v1/sla/contoso/maintenance/{id}/cancel"),
    ("DELETE", "/v1/admin/operators/contoso/iccid-ranges/{id}"),
]


@pytest.mark.parametrize(("method", "template"), ID_PATHS)
@pytest.mark.parametrize("row_id", [MAX_ROW_ID + 1, 2**63, 10**30, 0, -1, -(10**30)])
async def test_ids_outside_the_column_are_a_400_naming_the_parameter(
    client: httpx.AsyncClient, method: str, template: str, row_id: int
) -> None:
    """They answered 500 (the driver cannot bind the number; asyncpg beyond 32 bits)."""
    response = await client.request(method, template.format(id=row_id), headers=ADMIN, json={})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"].endswith("_id")


@pytest.mark.parametrize(("method", "template"), [p for p in ID_PATHS if p[0] == "GET"])
async def test_the_largest_id_is_valid_and_simply_not_found(
    client: httpx.AsyncClient, method: str, template: str
) -> None:
    response = await client.request(method, template.format(id=MAX_ROW_ID), headers=ADMIN)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/admin/operators/contoso", "DELETE, GET, PUT"),
        ("/v1/admin/config", "GET, PUT"),
        ("/v1/operators/contoso/ops-settings", "GET, PATCH"),
        ("/v1/incidents", "GET, POST"),
        ("/v1/incidents/1/calls", "GET"),  # no longer taken for a transition (D263)
        ("/v1/incidents/1/resolve", "POST"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allow: str
) -> None:
    """Starlette named only the first matching route's methods (``Allow: GET``)."""
    response = await client.request("OPTIONS", path, headers=ADMIN)
    assert response.status_code == 405
    assert response.headers["allow"] == allow


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_the_call_tasks_path_is_not_a_transition(
    client: httpx.AsyncClient, method: str
) -> None:
    """``POST .../{transition}`` took ``calls`` for a transition: a 400, and ``Allow: GET,
    POST`` on the 405s (D263)."""
    response = await client.request(method, "/v1/incidents/1/calls", headers=ADMIN, json={})
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    "path", ["/v1/maintenance", "/v1/sla/contoso/maintenance", "/v1/incidents/breaches"]
)
@pytest.mark.parametrize("value", ["0.5", "1700000000", "-3"])
async def test_a_number_is_not_a_date_time(
    client: httpx.AsyncClient, path: str, value: str
) -> None:
    """Pydantic read ``?to=0.5`` as Unix time and the request was answered 200."""
    params = {"from": "2026-11-01T00:00:00Z", "to": value}
    response = await client.get(path, params=params, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "to"


async def test_an_iso_date_time_is_still_accepted(client: httpx.AsyncClient) -> None:
    params = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00+01:00"}
    response = await client.get("/v1/maintenance", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("window", "status"), [("0", 400), ("9", 400), ("604801", 400)])
async def test_traffic_window_bounds_are_in_the_schema(
    client: httpx.AsyncClient, window: str, status: int
) -> None:
    response = await client.get("/v1/traffic/failures", params={"window": window}, headers=ADMIN)
    assert response.status_code == status, response.text
    assert response.json()["field"] == "window"


@pytest.mark.parametrize("document", ["{}\n", "version: 1\n"])
async def test_a_configuration_without_operators_changes_nothing(
    client: httpx.AsyncClient, document: str
) -> None:
    """``PUT /v1/admin/config`` with ``{}`` deleted every operator."""
    headers = {**ADMIN, "Content-Type": "application/yaml"}
    response = await client.put("/v1/admin/config", content=document, headers=headers)
    assert response.status_code == 400, response.text
    operators = await client.get("/v1/admin/operators", headers=ADMIN)
    assert [op["id"] for op in operators.json()] == ["contoso"]


def _refs(node: Any) -> set[str]:
    return set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(node)))


async def test_every_reference_of_the_document_resolves(client: httpx.AsyncClient) -> None:
    """``#/$defs/Severity`` (a body schema's own definitions) did not resolve."""
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    refs = _refs(document)
    assert "#/components/schemas/Severity" in refs
    assert {ref.removeprefix("#/components/schemas/") for ref in refs} <= set(schemas)
    assert "$defs" not in json.dumps(document["paths"])


async def test_responses_are_the_ones_the_broker_sends(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert all("422" not in op["responses"] for op in operations)  # validation answers 400
    assert "HTTPValidationError" not in document["components"]["schemas"]
    accept = document["paths"]["/v1/operators/{operator_id}/onboarding/accept"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(accept["responses"])
    problem = accept["responses"]["403"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    bug = document["paths"]["/v1/bugs/{bug_id}"]["get"]["parameters"][0]["schema"]
    assert (bug["minimum"], bug["maximum"]) == (1, MAX_ROW_ID)
