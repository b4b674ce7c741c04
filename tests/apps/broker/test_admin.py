"""Admin API: authentication, operator CRUD, ranges, YAML configuration, audit (issue #2)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import create_app
from mobileplans.config import Settings
from mobileplans.db.models import AuditEntry, IccidRange, Operator
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN, TOKEN, put_operator
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]


async def counts(sessions: Sessions) -> tuple[int, int, int]:
    found: list[int] = []
    async with session_scope(sessions) as session:
        for model in (Operator, IccidRange, AuditEntry):
            found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return found[0], found[1], found[2]


class TestAuthentication:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": "Basic eDp5"},
        ],
    )
    async def test_admin_routes_need_the_bearer_token(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        for method, path in (
            ("GET", "/v1/admin/operators"),
            ("PUT", "/v1/admin/operators/x"),
            ("GET", "/v1/admin/config"),
        ):
            response = await client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path)
            assert response.headers["content-type"] == "application/problem+json"


class TestOperators:
    async def test_create_is_201_update_is_200_and_both_are_audited_with_the_actor(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await put_operator(client)).status_code == 201
        data = operator_data(brand="Contoso Mobile")
        response = await client.put(
            "/v1/admin/operators/contoso", json=data, headers={**ADMIN, "X-MP-Actor": "alice"}
        )
        assert response.status_code == 200
        assert response.json()["brandName"] == "Contoso Mobile"
        audit = (
            await client.get("/v1/admin/audit", params={"entityId": "contoso"}, headers=ADMIN)
        ).json()
        assert [(a["action"], a["actor"]) for a in audit] == [
            ("update", "admin:alice"),
            ("create", "admin"),
        ]
        assert audit[0]["before"]["brandName"] == "Contoso Cellular"

    async def test_new_operator_is_served_at_once(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/providers", params={"location": "US"})).json()[
            "providers"
        ] == []
        await put_operator(client)
        providers = (await client.get("/v1/providers", params={"location": "US"})).json()[
            "providers"
        ]
        assert [p["moId"] for p in providers] == ["contoso"]

    async def test_invalid_body_is_400_naming_the_field_and_writes_nothing(
        self, client: httpx.AsyncClient, sessions: Sessions
    ) -> None:
        data = operator_data(countries=["US", "XX"])
        response = await client.put("/v1/admin/operators/contoso", json=data, headers=ADMIN)
        assert response.status_code == 400
        assert response.json()["field"] == "countries.1"
        assert await counts(sessions) == (0, 0, 0)

    async def test_wrong_json_is_400(self, client: httpx.AsyncClient, sessions: Sessions) -> None:
        response = await client.put(
            "/v1/admin/operators/contoso",
            content=b"{not json",
            headers={**ADMIN, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["title"] == "Bad request"
        response = await client.put("/v1/admin/operators/contoso", json=["a list"], headers=ADMIN)
        assert response.status_code == 400
        assert await counts(sessions) == (0, 0, 0)

    async def test_path_and_body_ids_must_agree(self, client: httpx.AsyncClient) -> None:
        response = await client.put(
            "/v1/admin/operators/other", json=operator_data(), headers=ADMIN
        )
        assert response.status_code == 400
        assert response.json()["field"] == "id"

    async def test_overlapping_range_is_409_naming_both_and_writes_nothing(
        self, client: httpx.AsyncClient, sessions: Sessions
    ) -> None:
        await put_operator(client)
        before = await counts(sessions)
        data = operator_data("fabrikam", brand="Fabrikam Mobile", prefix="8901999")
        response = await client.put("/v1/admin/operators/fabrikam", json=data, headers=ADMIN)
        assert response.status_code == 409
        problem = response.json()
        assert "contoso" in problem["detail"]
        assert "fabrikam" in problem["detail"]
        assert problem["overlaps"]
        assert await counts(sessions) == before

    async def test_get_and_delete(self, client: httpx.AsyncClient) -> None:
        await put_operator(client)
        assert (await client.get("/v1/admin/operators/contoso", headers=ADMIN)).json()[
            "id"
        ] == "contoso"
        assert (
            await client.delete("/v1/admin/operators/contoso", headers=ADMIN)
        ).status_code == 204
        assert (await client.get("/v1/admin/operators/contoso", headers=ADMIN)).status_code == 404
        assert (
            await client.delete("/v1/admin/operators/contoso", headers=ADMIN)
        ).status_code == 404
        assert (await client.get("/v1/providers", params={"location": "US"})).json()[
            "providers"
        ] == []


class TestRanges:
    async def test_add_list_resolve_delete(self, client: httpx.AsyncClient) -> None:
        await put_operator(client)
        rng = {
            "environment": "production",
            "start": "8901999500000000000",
            "end": "8901999599999999999",
            "kind": "test",
        }
        created = await client.post(
            "/v1/admin/operators/contoso/iccid-ranges", json=rng, headers=ADMIN
        )
        assert created.status_code == 201
        range_id = created.json()["id"]
        sim = valid_iccid("890199950000000000")
        assert (await client.get(f"/v1/sims/{sim}")).json()["rangeKind"] == "test"
        listed = (
            await client.get("/v1/admin/operators/contoso/iccid-ranges", headers=ADMIN)
        ).json()
        assert [r["kind"] for r in listed] == ["full", "test"]
        deleted = await client.delete(
            f"/v1/admin/operators/contoso/iccid-ranges/{range_id}", headers=ADMIN
        )
        assert deleted.status_code == 204
        assert (await client.get(f"/v1/sims/{sim}")).status_code == 404

    async def test_bad_range_is_400_and_overlap_409(self, client: httpx.AsyncClient) -> None:
        await put_operator(client)
        await put_operator(
            client, operator_id="fabrikam", brand="Fabrikam", countries=["GB"], prefix="8944999"
        )
        bad = {
            "environment": "production",
            "start": "8901999600000000009",
            "end": "8901999600000000000",
        }
        response = await client.post(
            "/v1/admin/operators/contoso/iccid-ranges", json=bad, headers=ADMIN
        )
        assert response.status_code == 400
        overlap = {
            "environment": "production",
            "start": "8944999000000000005",
            "end": "8944999000000000006",
        }
        response = await client.post(
            "/v1/admin/operators/contoso/iccid-ranges", json=overlap, headers=ADMIN
        )
        assert response.status_code == 409
        assert "fabrikam" in response.json()["detail"]


class TestConfigFile:
    async def test_export_then_import_round_trip_over_http(self, client: httpx.AsyncClient) -> None:
        await put_operator(client)
        exported = await client.get("/v1/admin/config", headers=ADMIN)
        assert exported.headers["content-type"].startswith("application/yaml")
        edited = exported.text.replace("Contoso Cellular", "Contoso Mobile")
        summary = await client.put("/v1/admin/config", content=edited, headers=ADMIN)
        assert summary.status_code == 200
        assert summary.json()["updated"] == ["contoso"]
        assert (await client.get("/v1/admin/operators/contoso", headers=ADMIN)).json()[
            "brandName"
        ] == "Contoso Mobile"

    async def test_malformed_yaml_is_400_with_lines_and_changes_nothing(
        self, client: httpx.AsyncClient, sessions: Sessions
    ) -> None:
        await put_operator(client)
        before = await counts(sessions)
        text = (await client.get("/v1/admin/config", headers=ADMIN)).text
        for broken in (text.replace("- US", "- XX"), text + "  - id: [", "operators: {}\n"):
            response = await client.put("/v1/admin/config", content=broken, headers=ADMIN)
            assert response.status_code == 400
            assert response.json()["problems"]
        assert "line" in response.json()["detail"] or response.json()["problems"]
        assert await counts(sessions) == before


async def test_a_second_replica_reloads_when_the_version_moves(
    client: httpx.AsyncClient, settings: Settings, sessions: Sessions, clock: FrozenClock
) -> None:
    other = create_app(settings, sessions, admin_token=TOKEN, clock=clock)
    await other.state.refresh()
    await put_operator(client)
    assert other.state.snapshot.operators == {}
    assert await other.state.refresh() is True
    assert list(other.state.snapshot.operators) == ["contoso"]
    assert await other.state.refresh() is False
