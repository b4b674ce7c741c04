"""The core-network stand-in: data use and walled-garden state (docs/activation.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.apps.operator.conftest import Demo
from tests.support import valid_iccid


async def line_state(client: httpx.AsyncClient, sim: str, **params: str) -> dict[str, Any]:
    response = await client.get(f"/contoso/network/lines/{sim}", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_usage_drains_the_balance(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sim = demo.sims().active_prepaid
    response = await operator_client.post(
        "/contoso/network/usage", json={"iccid": sim, "mb": 20.25, "location": "us"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "refusedMb": 0.0,
        "state": {
            "iccid": sim,
            "walledGarden": False,
            "dataRemaininginMB": 5099.75,
            "timeRemaining": "P30D",
        },
    }
    assert await line_state(operator_client, sim) == response.json()["state"]


async def test_usage_outside_the_plan_countries_is_refused(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    response = await operator_client.post(
        "/contoso/network/usage", json={"iccid": sim, "mb": 10, "location": "UK"}
    )
    assert response.json()["refusedMb"] == 10.0
    assert response.json()["state"]["walledGarden"] is True
    assert (await line_state(operator_client, sim, location="GB"))["walledGarden"] is True
    assert (await line_state(operator_client, sim))["dataRemaininginMB"] == 5120.0  # untouched


async def test_lines_without_balance_are_in_the_walled_garden(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sims = demo.sims()
    for sim in (sims.zero_balance, sims.warm_sim):
        assert await line_state(operator_client, sim) == {
            "iccid": sim,
            "walledGarden": True,
            "dataRemaininginMB": 0.0,
            "timeRemaining": "PT0S",
        }
        usage = await operator_client.post("/contoso/network/usage", json={"iccid": sim, "mb": 1})
        assert usage.json()["refusedMb"] == 1.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"", "body"),
        (b'{"iccid": "89019990abc", "mb": 1}', "iccid"),
        (b'{"iccid": "123", "mb": 1}', "iccid"),
        (b'{"mb": 1}', "iccid"),
        (b'{"iccid": "SIM", "mb": 0}', "mb"),
        (b'{"iccid": "SIM", "mb": -5}', "mb"),
        (b'{"iccid": "SIM", "mb": "lots"}', "mb"),
        (b'{"iccid": "SIM", "mb": NaN}', "body"),
        (b'{"iccid": "SIM", "mb": 1e999}', "body"),  # orjson: out of range
        (b'{"iccid": "SIM"}', "mb"),
        (b'{"iccid": "SIM", "mb": 1, "location": "XX"}', "location"),
        (b'{"iccid": "SIM", "mb": 1, "bytes": 5}', "bytes"),
    ],
)
async def test_bad_usage_reports_are_400_and_change_nothing(
    operator_client: httpx.AsyncClient, demo: Demo, body: bytes, field: str
) -> None:
    sim = demo.sims().active_prepaid
    response = await operator_client.post(
        "/contoso/network/usage",
        content=body.replace(b"SIM", sim.encode()),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert (await line_state(operator_client, sim))["dataRemaininginMB"] == 5120.0


async def test_unknown_sims_are_404(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    unknown = valid_iccid("890199900000000042")
    usage = await operator_client.post("/contoso/network/usage", json={"iccid": unknown, "mb": 1})
    assert usage.status_code == 404
    assert (await operator_client.get(f"/contoso/network/lines/{unknown}")).status_code == 404
    fabrikam = demo.sims("fabrikam").active_prepaid
    cross = await operator_client.post("/contoso/network/usage", json={"iccid": fabrikam, "mb": 1})
    assert cross.status_code == 404
    assert (await operator_client.get(f"/nobody/network/lines/{unknown}")).status_code == 404


async def test_bad_line_queries_are_400(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    bad_iccid = await operator_client.get("/contoso/network/lines/8901-999")
    assert (bad_iccid.status_code, bad_iccid.json()["field"]) == (400, "iccid")
    sim = demo.sims().active_prepaid
    bad_location = await operator_client.get(f"/contoso/network/lines/{sim}?location=QQ")
    assert (bad_location.status_code, bad_location.json()["field"]) == (400, "location")
