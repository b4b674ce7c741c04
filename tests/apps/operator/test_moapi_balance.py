"""GetBalance (spec 2.3) as the operator serves it, with every negative case of spec 4.1.1."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.conftest import MO_HEADERS, TRANSACTION_ID, Demo
from tests.support import valid_iccid

HEADER = "X-MS-DM-TransactionId"


async def get_balance(
    client: httpx.AsyncClient,
    sim: str,
    params: dict[str, Any] | list[tuple[str, str]] | None = None,
    *,
    operator: str = "contoso",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.get(
        f"/{operator}/api/v1/sims/{sim}/balances",
        params=params,
        headers=MO_HEADERS if headers is None else headers,
    )


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert body["field"] == field, body


async def test_basic_template_has_the_example_shape(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    response = await get_balance(operator_client, f"iccid:{sim}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers[HEADER] == TRANSACTION_ID  # verbatim, quotes included
    [balance] = response.json()["balances"]
    assert balance.pop("id").isdigit()
    assert balance == {"type": "MODIRECTPAYG", "dataRemaininginMB": 5120.0, "timeRemaining": "P30D"}


async def test_full_template_adds_locations(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sim = demo.sims().active_prepaid
    full = (await get_balance(operator_client, sim, {"fieldsTemplate": "full"})).json()
    basic = (await get_balance(operator_client, sim, {"fieldsTemplate": "basic"})).json()
    assert full["balances"][0]["locations"] == ["US"]
    assert "locations" not in basic["balances"][0]
    assert {k: v for k, v in full["balances"][0].items() if k != "locations"} == basic["balances"][
        0
    ]


@pytest.mark.parametrize(
    "form", ["iccid:{sim}", "{sim}", "iccid: {sim}", "ICCID:{sim}", "iccid:{sim}F", "{sim}f"]
)
async def test_sim_id_forms(operator_client: httpx.AsyncClient, demo: Demo, form: str) -> None:
    sim = demo.sims().active_prepaid
    response = await get_balance(operator_client, form.format(sim=sim))
    assert response.status_code == 200, response.text
    assert response.json()["balances"][0]["type"] == "MODIRECTPAYG"


@pytest.mark.parametrize(
    "sim_id",
    [
        "iccid:",
        "iccid:89019990abc",
        "12345",
        "iccid:" + "8" * 21,
        "msisdn:14255550100",
        "imsi:001010123456789",
    ],
)
async def test_malformed_sim_id_is_400_naming_sim_id(
    operator_client: httpx.AsyncClient, demo: Demo, sim_id: str
) -> None:
    response = await get_balance(operator_client, sim_id)
    assert_problem(response, 400, "simId")
    assert response.headers[HEADER] == TRANSACTION_ID


async def test_unknown_sims_are_404(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    unknown = valid_iccid("890199900000000042")
    active = demo.sims().active_prepaid
    wrong_check_digit = active[:-1] + str((int(active[-1]) + 1) % 10)
    for sim in (unknown, wrong_check_digit):
        response = await get_balance(operator_client, f"iccid:{sim}")
        assert_problem(response, 404)
        assert response.headers[HEADER] == TRANSACTION_ID
    # Another operator's SIM is unknown here; an unknown operator is 404 too.
    assert_problem(await get_balance(operator_client, demo.sims("fabrikam").active_prepaid), 404)
    assert_problem(await get_balance(operator_client, active, operator="nobody"), 404)


async def test_location_filters_and_normalises(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    for location in ("US", "us", "Us", " US "):
        body = (await get_balance(operator_client, sim, {"location": location})).json()
        assert body["balances"][0]["type"] == "MODIRECTPAYG", location
    for location in ("GB", "uk", "FR"):  # a US-only plan is nothing to use there
        response = await get_balance(operator_client, sim, {"location": location})
        assert response.status_code == 200
        assert response.json()["balances"] == [
            {"id": f"{sim}-none", "type": "NONE", "dataRemaininginMB": 0.0, "timeRemaining": "PT0S"}
        ]


@pytest.mark.parametrize("location", ["XX", "ZZ", "USA", "U", "1", "U$", "é"])
async def test_unknown_or_bad_location_is_400(
    operator_client: httpx.AsyncClient, demo: Demo, location: str
) -> None:
    response = await get_balance(
        operator_client, demo.sims().active_prepaid, {"location": location}
    )
    assert_problem(response, 400, "location")


@pytest.mark.parametrize(
    "limit", ["-1", "-2147483648", "2147483648", "99999999999999999999", "1.5", "one", "0x1", "1e3"]
)
async def test_bad_limit_is_400(operator_client: httpx.AsyncClient, demo: Demo, limit: str) -> None:
    response = await get_balance(operator_client, demo.sims().active_prepaid, {"limit": limit})
    assert_problem(response, 400, "limit")


async def test_limit_cuts_the_list(
    operator_client: httpx.AsyncClient,
    demo: Demo,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    sim = demo.sims().active_prepaid
    async with session_scope(sessions) as session:  # a second, later-expiring plan
        await balance_service.credit(
            session, sim, demo.plan("contoso-postpaid-20gb"), now=clock.now()
        )
    clock.advance(timedelta(hours=1))
    everything = (await get_balance(operator_client, sim)).json()["balances"]
    assert [b["type"] for b in everything] == ["MODIRECTPAYG", "MODIRECT"]  # earliest expiry first
    assert [b["timeRemaining"] for b in everything] == ["P29DT23H", "P29DT23H"]
    for limit, expected in (("2147483647", 2), ("2", 2), ("1", 1), ("0", 0), ("+1", 1)):
        response = await get_balance(operator_client, sim, {"limit": limit})
        assert response.status_code == 200, limit
        assert response.json()["balances"] == everything[:expected]


@pytest.mark.parametrize("template", ["FULL", "Basic", "detailed", "basic,full"])
async def test_bad_fields_template_is_400(
    operator_client: httpx.AsyncClient, demo: Demo, template: str
) -> None:
    response = await get_balance(
        operator_client, demo.sims().active_prepaid, {"fieldsTemplate": template}
    )
    assert_problem(response, 400, "fieldsTemplate")


async def test_missing_or_empty_parameter_combinations(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    """Spec 4.1.1: missing or empty location / fieldsTemplate / limit → 200; bad → 400.

    The first bad parameter in the order location, limit, fieldsTemplate is named."""
    sim = demo.sims().active_prepaid
    locations = [None, "", "US", "QQ"]
    limits = [None, "", "1", "-1"]
    templates = [None, "", "full", "nope"]
    bad = {"QQ": "location", "-1": "limit", "nope": "fieldsTemplate"}
    for location, limit, template in itertools.product(locations, limits, templates):
        params = {
            name: value
            for name, value in (
                ("location", location),
                ("limit", limit),
                ("fieldsTemplate", template),
            )
            if value is not None
        }
        response = await get_balance(operator_client, sim, params)
        broken = [bad[v] for v in (location, limit, template) if v in bad]
        if broken:
            assert_problem(response, 400, broken[0])
        else:
            assert response.status_code == 200, params
            [balance] = response.json()["balances"]
            assert ("locations" in balance) == (template == "full"), params


async def test_repeated_parameter_is_400(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sim = demo.sims().active_prepaid
    response = await get_balance(operator_client, sim, [("limit", "1"), ("limit", "2")])
    assert_problem(response, 400, "limit")


async def test_transaction_id_header_is_required_and_echoed(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    missing = await get_balance(operator_client, sim, headers={})
    assert_problem(missing, 400, HEADER)
    assert HEADER not in missing.headers
    blank = await get_balance(operator_client, sim, headers={HEADER: "  "})
    assert_problem(blank, 400, HEADER)
    for value in ('"12345"', "MSFT-unquoted", '"MSFT-a b"'):
        response = await get_balance(operator_client, sim, headers={HEADER: value})
        assert response.status_code == 200
        assert response.headers[HEADER] == value
    error = await get_balance(operator_client, sim, {"limit": "-1"}, headers={HEADER: '"x-1"'})
    assert error.status_code == 400
    assert error.headers[HEADER] == '"x-1"'


async def test_repeated_transaction_id_is_never_409(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    statuses = [(await get_balance(operator_client, sim)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]


async def test_zero_balance_is_none_not_404(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sims = demo.sims()
    for sim in (sims.zero_balance, sims.warm_sim, sims.monitoring_iccid):
        response = await get_balance(operator_client, f"iccid:{sim}", {"fieldsTemplate": "full"})
        assert response.status_code == 200
        assert response.json() == {
            "balances": [
                {
                    "id": f"{sim}-none",
                    "type": "NONE",
                    "dataRemaininginMB": 0.0,
                    "timeRemaining": "PT0S",
                    "locations": [],
                }
            ]
        }


async def test_not_supported_sim(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sim = demo.sims().not_supported
    response = await get_balance(operator_client, sim, {"location": "US"})
    assert response.status_code == 200
    assert response.json()["balances"] == [
        {
            "id": f"{sim}-notsupported",
            "type": "NOTSUPPORTED",
            "dataRemaininginMB": 0.0,
            "timeRemaining": "PT0S",
        }
    ]


async def test_data_decrements_as_it_is_used(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    for used, left in ((120.5, 4999.5), (999.5, 4000.0)):
        usage = await operator_client.post(
            "/contoso/network/usage", json={"iccid": sim, "mb": used}
        )
        assert usage.status_code == 200
        assert usage.json()["refusedMb"] == 0.0
        balance = (await get_balance(operator_client, sim)).json()["balances"][0]
        assert balance["dataRemaininginMB"] == left


async def test_time_decrements_as_it_passes(
    operator_client: httpx.AsyncClient, demo: Demo, clock: FrozenClock
) -> None:
    sim = demo.sims().active_prepaid
    clock.advance(timedelta(days=1, hours=2, minutes=3, seconds=4))
    balance = (await get_balance(operator_client, sim)).json()["balances"][0]
    assert balance["timeRemaining"] == "P28DT21H56M56S"
    clock.advance(timedelta(days=28, hours=21, minutes=56, seconds=55))
    assert (await get_balance(operator_client, sim)).json()["balances"][0][
        "timeRemaining"
    ] == "PT1S"
    clock.advance(timedelta(seconds=1))  # expired: nothing consumable
    balance = (await get_balance(operator_client, sim)).json()["balances"][0]
    assert (balance["type"], balance["dataRemaininginMB"], balance["timeRemaining"]) == (
        "NONE",
        0.0,
        "PT0S",
    )


async def test_walled_garden_after_the_data_runs_out(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    usage = await operator_client.post("/contoso/network/usage", json={"iccid": sim, "mb": 5000})
    assert usage.json()["state"]["walledGarden"] is False
    usage = await operator_client.post("/contoso/network/usage", json={"iccid": sim, "mb": 500})
    assert usage.status_code == 200
    assert usage.json() == {
        "refusedMb": 380.0,
        "state": {
            "iccid": sim,
            "walledGarden": True,
            "dataRemaininginMB": 0.0,
            "timeRemaining": "PT0S",
        },
    }
    balance = (await get_balance(operator_client, sim)).json()["balances"][0]
    assert (balance["type"], balance["dataRemaininginMB"], balance["timeRemaining"]) == (
        "NONE",
        0.0,
        "PT0S",
    )
    line = await operator_client.get(f"/contoso/network/lines/{sim}")
    assert line.json()["walledGarden"] is True


async def test_mo_api_openapi_documents_the_spec_parameters(
    operator_client: httpx.AsyncClient,
) -> None:
    document = (await operator_client.get("/openapi.json")).json()
    operation = document["paths"]["/{operator_id}/api/v1/sims/{simId}/balances"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"simId", "location", "limit", "fieldsTemplate", HEADER} <= names
