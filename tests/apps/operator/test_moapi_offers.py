"""GetOffers (spec 2.6) and GetNotifications (spec 2.7) as the operator serves them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from mobileplans.config import OperatorSite
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.conftest import MO_HEADERS, TRANSACTION_ID, Demo, make_site
from tests.support import valid_iccid

IMEI = "490154203237518"  # valid Luhn


@pytest.fixture
def operator_sites() -> list[OperatorSite]:
    return [make_site("contoso", returning_gateway_id="returning"), make_site("fabrikam")]


async def offers(
    client: httpx.AsyncClient, sim: str, params: dict[str, Any], operator: str = "contoso"
) -> httpx.Response:
    return await client.get(
        f"/{operator}/api/v1/sims/{sim}/offers", params=params, headers=MO_HEADERS
    )


async def notifications(
    client: httpx.AsyncClient, sim: str, params: dict[str, Any], operator: str = "contoso"
) -> httpx.Response:
    return await client.get(
        f"/{operator}/api/v1/sims/{sim}/notifications", params=params, headers=MO_HEADERS
    )


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID
    return str(response.json()["field"])


async def test_offers_for_a_line_in_service_put_the_returning_template_first(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = f"iccid:{demo.sims().active_prepaid}"
    response = await offers(operator_client, sim, {"limit": 5, "imei": IMEI})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID
    assert response.json() == {"offers": [{"gatewayId": "returning"}, {"gatewayId": "0"}]}
    one = await offers(operator_client, sim, {"limit": 1})
    assert one.json() == {"offers": [{"gatewayId": "returning"}]}
    assert (await offers(operator_client, sim, {"limit": 0})).json() == {"offers": []}


async def test_new_lapsed_and_excluded_lines_get_template_zero(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sims = demo.sims()
    for sim in (sims.warm_sim, sims.zero_balance, sims.not_supported, sims.monitoring_iccid):
        response = await offers(operator_client, f"iccid:{sim}", {"limit": 3})
        assert response.json() == {"offers": [{"gatewayId": "0"}]}, sim


async def test_without_a_returning_template_everyone_gets_zero(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims("fabrikam").active_prepaid
    response = await offers(operator_client, sim, {"limit": 3}, operator="fabrikam")
    assert response.json() == {"offers": [{"gatewayId": "0"}]}


async def test_lapsed_line_loses_the_returning_template(
    operator_client: httpx.AsyncClient, demo: Demo, clock: FrozenClock
) -> None:
    clock.advance(timedelta(days=31))
    response = await offers(operator_client, demo.sims().active_prepaid, {"limit": 3})
    assert response.json() == {"offers": [{"gatewayId": "0"}]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "2147483648"}, "limit"),
        ({"limit": "two"}, "limit"),
        ({"limit": "1", "imei": "1234"}, "imei"),
        ({"limit": "1", "imei": "490154203237519"}, "imei"),
        ({"limit": "1", "imei": "49015420323751x"}, "imei"),
    ],
)
async def test_offers_bad_parameters(
    operator_client: httpx.AsyncClient, demo: Demo, params: dict[str, str], field: str
) -> None:
    response = await offers(operator_client, demo.sims().active_prepaid, params)
    assert field_of(response) == field


async def test_offers_sim_errors(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    assert field_of(await offers(operator_client, "iccid:12x", {"limit": 1})) == "simmri"
    assert field_of(await offers(operator_client, "imsi:001010000000001", {"limit": 1})) == "simmri"
    unknown = await offers(operator_client, valid_iccid("890199900000000042"), {"limit": 1})
    assert unknown.status_code == 404
    assert unknown.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID
    missing_header = await operator_client.get(
        f"/contoso/api/v1/sims/{demo.sims().active_prepaid}/offers?limit=1"
    )
    assert missing_header.status_code == 400
    assert missing_header.json()["field"] == "X-MS-DM-TransactionId"


async def test_zero_balance_notification(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sims = demo.sims()
    for kind in ("zeroBalance", "ZeroBalance", "ZEROBALANCE"):
        response = await notifications(
            operator_client, f"iccid:{sims.zero_balance}", {"notificationType": kind, "limit": 1}
        )
        assert response.status_code == 200
        assert response.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID
        assert response.json() == {
            "notifications": [{"notificationId": 2, "notificationType": "zeroBalance"}]
        }
    active = await notifications(
        operator_client, sims.active_prepaid, {"notificationType": "zeroBalance", "limit": 1}
    )
    assert active.json() == {"notifications": []}
    excluded = await notifications(
        operator_client, sims.not_supported, {"notificationType": "zeroBalance", "limit": 1}
    )
    assert excluded.json() == {"notifications": []}


async def test_low_balance_by_data(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sim = demo.sims().active_prepaid
    params = {"notificationType": "lowBalance", "limit": 1, "imei": IMEI}
    assert (await notifications(operator_client, sim, params)).json() == {"notifications": []}
    await operator_client.post("/contoso/network/usage", json={"iccid": sim, "mb": 4607})
    assert (await notifications(operator_client, sim, params)).json() == {"notifications": []}
    await operator_client.post("/contoso/network/usage", json={"iccid": sim, "mb": 1})  # 512 left
    assert (await notifications(operator_client, sim, params)).json() == {
        "notifications": [{"notificationId": 1, "notificationType": "lowBalance"}]
    }
    limited = await notifications(operator_client, sim, {**params, "limit": 0})
    assert limited.json() == {"notifications": []}
    await operator_client.post("/contoso/network/usage", json={"iccid": sim, "mb": 512})
    empty = await notifications(operator_client, sim, params)  # nothing left: zero, not low
    assert empty.json() == {"notifications": []}


async def test_low_balance_by_time(
    operator_client: httpx.AsyncClient, demo: Demo, clock: FrozenClock
) -> None:
    sim = demo.sims().active_prepaid
    params = {"notificationType": "LowBalance", "limit": 1}
    clock.advance(timedelta(days=28, hours=23, minutes=59))
    assert (await notifications(operator_client, sim, params)).json() == {"notifications": []}
    clock.advance(timedelta(minutes=1))  # 24 h left
    assert (await notifications(operator_client, sim, params)).json()["notifications"] == [
        {"notificationId": 1, "notificationType": "lowBalance"}
    ]


async def test_new_offer_and_trials(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    sim = demo.sims().active_prepaid
    new_offer = await notifications(
        operator_client, sim, {"notificationType": "newOffer", "limit": 1}
    )
    assert new_offer.json() == {
        "notifications": [{"notificationId": 3, "notificationType": "newOffer"}]
    }
    for kind in ("trialOffer", "trialEnding", "TrialEnded"):
        response = await notifications(operator_client, sim, {"notificationType": kind, "limit": 1})
        assert response.status_code == 200
        assert response.json() == {"notifications": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "1"}, "notificationType"),
        ({"notificationType": "", "limit": "1"}, "notificationType"),
        ({"notificationType": "balanceLow", "limit": "1"}, "notificationType"),
        ({"notificationType": "lowBalance"}, "limit"),
        ({"notificationType": "lowBalance", "limit": "-3"}, "limit"),
        ({"notificationType": "lowBalance", "limit": "1", "imei": "12"}, "imei"),
    ],
)
async def test_notifications_bad_parameters(
    operator_client: httpx.AsyncClient, demo: Demo, params: dict[str, str], field: str
) -> None:
    response = await notifications(operator_client, demo.sims().active_prepaid, params)
    assert field_of(response) == field


async def test_notifications_sim_errors(operator_client: httpx.AsyncClient, demo: Demo) -> None:
    params = {"notificationType": "lowBalance", "limit": "1"}
    imsi = await notifications(operator_client, "imsi:001010123456789", params)
    assert field_of(imsi) == "simmri"
    assert "imsi" in imsi.json()["detail"]
    unknown = await notifications(operator_client, valid_iccid("890199900000000042"), params)
    assert unknown.status_code == 404
    other_operator = await notifications(
        operator_client, demo.sims("fabrikam").zero_balance, params
    )
    assert other_operator.status_code == 404
