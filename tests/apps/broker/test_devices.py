"""Device-facing broker API: providers and SIM resolution (spec 2.1.1, 2.10, 7.3)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp
from mobileplans.db.models import PortalLaunch
from mobileplans.db.session import session_scope
from mobileplans.kit.ids import new_transaction_id
from tests.apps.broker.conftest import ADMIN
from tests.support import valid_iccid

EID = "89033023422130000000000199055797"
IMEI = "001102000315468"
CONTOSO_SIM = valid_iccid("890199910000000001")  # production range (second of two)
FABRIKAM_SIM = valid_iccid("894499900000000001")

pytestmark = pytest.mark.usefixtures("world")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


class TestProviders:
    async def test_lists_enabled_operators_of_the_country_sorted_by_brand(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/providers", params={"location": "us"})
        assert response.status_code == 200
        body = response.json()
        assert body["location"] == "US"
        assert body["environment"] == "production"
        assert [p["brandName"] for p in body["providers"]] == ["Contoso Cellular", "Zephyr"]

    async def test_uk_is_read_as_gb(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/v1/providers", params={"location": "UK"})).json()
        assert [p["moId"] for p in body["providers"]] == ["fabrikam"]
        assert body["location"] == "GB"

    async def test_a_country_nobody_serves_is_an_empty_list(
        self, client: httpx.AsyncClient
    ) -> None:
        body = (await client.get("/v1/providers", params={"location": "JP"})).json()
        assert body["providers"] == []

    async def test_esim_launch_url_carries_only_this_operators_profiles(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {
            "location": "US",
            "eid": EID,
            "imei": IMEI,
            "iccids": f"{CONTOSO_SIM}F, {FABRIKAM_SIM}",
        }
        providers = (await client.get("/v1/providers", params=params)).json()["providers"]
        contoso = next(p for p in providers if p["moId"] == "contoso")
        zephyr = next(p for p in providers if p["moId"] == "zephyr")
        query = query_of(contoso["launchUrl"])
        assert list(query) == ["market", "location", "transactionId", "eid", "imei", "iccids"]
        assert query["iccids"] == CONTOSO_SIM
        assert query["eid"] == EID
        assert query["imei"] == IMEI
        assert query["market"] == "US"
        assert "iccids" not in query_of(zephyr["launchUrl"])
        assert contoso["launchUrl"].startswith("https://portal.contoso.example/mobileplans?")
        assert contoso["transactionId"] != zephyr["transactionId"]

    async def test_every_transaction_id_is_fresh_short_and_recorded(
        self, client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        first = (await client.get("/v1/providers", params={"location": "US", "eid": EID})).json()
        second = (await client.get("/v1/providers", params={"location": "US", "eid": EID})).json()
        ids = [p["transactionId"] for body in (first, second) for p in body["providers"]]
        assert len(set(ids)) == 4
        assert all(0 < len(i) <= 64 for i in ids)
        async with session_scope(sessions) as session:
            rows = (await session.scalars(select(PortalLaunch))).all()
        recorded = {row.transaction_id: row for row in rows}
        assert set(ids) == set(recorded)
        assert recorded[ids[0]].eid == EID
        assert recorded[ids[0]].location == "US"
        assert recorded[ids[0]].portal_url == first["providers"][0]["launchUrl"]

    async def test_physical_sim_gets_its_operator_with_iccid_in_place_of_eid(
        self, client: httpx.AsyncClient
    ) -> None:
        body = (
            await client.get(
                "/v1/providers", params={"location": "US", "iccid": CONTOSO_SIM, "imei": IMEI}
            )
        ).json()
        [provider] = body["providers"]
        assert provider["moId"] == "contoso"
        assert list(query_of(provider["launchUrl"])) == [
            "iccid",
            "imei",
            "market",
            "transactionId",
            "location",
        ]

    async def test_staging_environment_is_selectable(self, client: httpx.AsyncClient) -> None:
        body = (
            await client.get("/v1/providers", params={"location": "US", "environment": "staging"})
        ).json()
        assert [p["moId"] for p in body["providers"]] == ["contoso", "zephyr"]
        assert body["environment"] == "staging"

    async def test_gateway_defaults_to_the_standard_page(self, client: httpx.AsyncClient) -> None:
        provider = (await client.get("/v1/providers", params={"location": "GB"})).json()[
            "providers"
        ][0]
        assert provider["gateway"] == {"templateId": "0", "template": None}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"location": "XX"}, "location"),
            ({"location": "USA"}, "location"),
            ({}, "location"),
            ({"location": "US", "market": "ZZ"}, "market"),
            ({"location": "US", "imei": "001102000315469"}, "imei"),
            ({"location": "US", "eid": EID[:-1] + "8"}, "eid"),
            ({"location": "US", "iccids": "123"}, "iccids"),
            ({"location": "US", "iccids": f"{CONTOSO_SIM},,"}, "iccids"),
            ({"location": "US", "iccid": CONTOSO_SIM, "eid": EID}, "iccid"),
            ({"location": "US", "environment": "dev"}, "environment"),
        ],
    )
    async def test_malformed_input_is_a_400_naming_the_field_and_records_nothing(
        self,
        client: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession],
        params: dict[str, str],
        field: str,
    ) -> None:
        response = await client.get("/v1/providers", params=params)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["field"] == field
        assert problem["status"] == 400
        assert field in problem["detail"]
        async with session_scope(sessions) as session:
            assert (await session.scalars(select(PortalLaunch))).all() == []

    async def test_physical_sim_in_no_range_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/v1/providers", params={"location": "US", "iccid": valid_iccid("893399900000000001")}
        )
        assert response.status_code == 404


class TestSims:
    async def test_resolves_operator_environment_and_kind(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/v1/sims/{CONTOSO_SIM}F")
        assert response.status_code == 200
        assert response.json() == {
            "iccid": CONTOSO_SIM,
            "operatorId": "contoso",
            "brandName": "Contoso Cellular",
            "environment": "production",
            "rangeKind": "full",
            "rangeStart": "8901999100000000000",
            "rangeEnd": "8901999199999999999",
        }
        staging = (
            await client.get(f"/v1/sims/{valid_iccid('890199900000000005')}?environment=staging")
        ).json()
        assert staging["environment"] == "staging"

    async def test_unknown_iccid_is_404_and_malformed_is_400(
        self, client: httpx.AsyncClient
    ) -> None:
        missing = await client.get(f"/v1/sims/{valid_iccid('893399900000000001')}")
        assert missing.status_code == 404
        assert missing.json()["iccid"].startswith("8933999")
        for bad, rule in (
            ("89019991", "digits"),
            ("8901999A000000000001", "digits only"),
            (CONTOSO_SIM[:-1] + str((int(CONTOSO_SIM[-1]) + 1) % 10), "Luhn"),
        ):
            response = await client.get(f"/v1/sims/{bad}")
            assert response.status_code == 400, bad
            assert response.json()["field"] == "iccid"
            assert rule in response.json()["detail"]

    async def test_lenient_operator_accepts_a_bad_check_digit(
        self, client: httpx.AsyncClient
    ) -> None:
        bad = CONTOSO_SIM[:-1] + str((int(CONTOSO_SIM[-1]) + 1) % 10)
        contoso = (await client.get("/v1/admin/operators/contoso", headers=ADMIN)).json()
        contoso["iccidLenient"] = True
        assert (
            await client.put("/v1/admin/operators/contoso", json=contoso, headers=ADMIN)
        ).status_code == 200
        assert (await client.get(f"/v1/sims/{bad}")).json()["operatorId"] == "contoso"

    async def test_fast_path_answers_exactly_like_the_fastapi_route(
        self, broker: BrokerApp
    ) -> None:
        assert broker.state.settings.broker_fast_path
        fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=broker), base_url="http://b")
        slow = httpx.AsyncClient(transport=httpx.ASGITransport(app=broker.api), base_url="http://b")
        paths = [
            f"/v1/sims/{CONTOSO_SIM}",
            f"/v1/sims/{CONTOSO_SIM}?environment=staging",
            "/v1/sims/123",
            f"/v1/sims/{valid_iccid('893399900000000001')}",
            "/v1/sims/8901999100000000002",
        ]
        async with fast, slow:
            for path in paths:
                a, b = await fast.get(path), await slow.get(path)
                assert (a.status_code, a.headers["content-type"], a.content) == (
                    b.status_code,
                    b.headers["content-type"],
                    b.content,
                ), path


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get(f"/v1/sims/{CONTOSO_SIM}")
    await client.get("/v1/providers", params={"location": "US"})
    text = (await client.get("/metrics")).text
    assert 'route="/v1/sims/{iccid}"' in text
    assert 'route="/v1/providers"' in text


async def test_openapi_documents_the_device_and_admin_api(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert {
        "/v1/providers",
        "/v1/sims/{iccid}",
        "/v1/admin/operators/{operator_id}",
        "/v1/admin/config",
    } <= set(schema["paths"])
    assert (await client.get("/docs")).status_code == 200


def test_generated_transaction_ids_fit_the_limit() -> None:
    assert all(len(new_transaction_id()) <= 64 for _ in range(100))
