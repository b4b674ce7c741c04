"""Admin API of SLA statements, contracts, maintenance, burn rates and traffic failures."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import BalanceLookup
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN, put_operator
from tests.domains.sla.support import add_probe, roll_up_all, store, synthetic, utc

GETS = [
    "/v1/sla/kolkata?period=2026-10",
    "/v1/sla/kolkata/statements",
    "/v1/sla/kolkata/statements/1",
    "/v1/sla/kolkata/statements/1/verification",
    "/v1/sla/kolkata/contract",
    "/v1/sla/kolkata/maintenance",
    "/v1/sla/kolkata/burn-rates",
    "/v1/traffic/failures?window=300",
]


@pytest.fixture
async def kolkata(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> int:
    """An operator in Asia/Kolkata with a getbalance probe: results 2026-10-29 to 11-01."""
    await put_operator(client, operator_id="kolkata", brand="Kolkata", timezone="Asia/Kolkata")
    probe = await add_probe(sessions, "kolkata", interval=120, now=clock.now())
    await add_probe(sessions, "kolkata", kind="portal", interval=120, now=clock.now())
    results = synthetic(
        probe.id, utc(2026, 10, 29), utc(2026, 11, 1), interval=120, seed=21, failure_rate=0.02
    )
    await store(sessions, probe, results)
    await roll_up_all(sessions, clock.now())
    return probe.id


@pytest.mark.parametrize("path", GETS)
async def test_every_route_needs_the_admin_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


async def test_report_json_csv_html_and_table(client: httpx.AsyncClient, kolkata: int) -> None:
    url = "/v1/sla/kolkata?period=2026-10-30&kind=getbalance&environment=production"
    body = (await client.get(url, headers=ADMIN)).json()
    [item] = body["statements"]
    statement = item["statement"]
    assert body["period"]["start"] == "2026-10-29T18:30:00Z"
    assert statement["probeId"] == kolkata
    assert statement["probes"] == 720
    assert statement["verdict"]["overall"] in ("met", "missed")
    assert set(item["source"]["rollupRows"]) == {"hour"}

    text = await client.get(url + "&format=csv", headers=ADMIN)
    assert text.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(text.text)))
    assert row["probes"] == "720"
    assert row["periodStart"] == "2026-10-29T18:30:00+00:00"
    assert row["availabilityPercent"] == f"{statement['availabilityPercent']:.4f}".rstrip(
        "0"
    ).rstrip(".")

    page = await client.get(url + "&format=html", headers=ADMIN)
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.startswith("<!doctype html>")
    for outside in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert outside not in page.text
    assert ">720<" in page.text

    table = await client.get(url + "&format=table", headers=ADMIN)
    lines = table.text.splitlines()
    assert lines[0] == "SLA statements, production"
    assert lines[1].split()[:2] == ["operator", "kind"]
    assert "kolkata" in lines[3]
    assert max(len(line) for line in lines) <= 80


async def test_month_and_custom_range_and_all_kinds(
    client: httpx.AsyncClient, kolkata: int
) -> None:
    month = (await client.get("/v1/sla/kolkata?period=2026-10", headers=ADMIN)).json()
    assert [s["statement"]["kind"] for s in month["statements"]] == ["getbalance", "portal"]
    assert month["period"]["end"] == "2026-10-31T18:30:00Z"
    custom = await client.get(
        "/v1/sla/kolkata",
        params={"from": "2026-10-30", "to": "2026-10-31T00:00:00+05:30", "kind": "getbalance"},
        headers=ADMIN,
    )
    assert custom.status_code == 200
    assert custom.json()["statements"][0]["statement"]["probes"] == 720


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("period=2026-13", 400, "period"),
        ("period=2026-10&format=xml", 400, "format"),
        ("period=2026-10&kind=voice", 400, "kind"),
        ("period=2026-10&environment=dev", 400, "environment"),
        ("from=2026-10-30T00:00:00&to=2026-10-31", 400, "from"),
    ],
)
async def test_bad_report_queries_name_the_parameter(
    client: httpx.AsyncClient, kolkata: int, query: str, status: int, field: str
) -> None:
    response = await client.get(f"/v1/sla/kolkata?{query}", headers=ADMIN)
    assert response.status_code == status
    assert response.json()["field"] == field


async def test_unknown_operator_and_missing_probe_are_404(
    client: httpx.AsyncClient, kolkata: int
) -> None:
    unknown = await client.get("/v1/sla/nobody?period=2026-10", headers=ADMIN)
    assert unknown.status_code == 404
    await put_operator(client, operator_id="quiet", brand="Quiet", prefix="8901555")
    quiet = await client.get("/v1/sla/quiet?period=2026-10", headers=ADMIN)
    assert quiet.status_code == 404
    assert "no probe" in quiet.json()["detail"]


async def test_issue_list_get_and_verify(client: httpx.AsyncClient, kolkata: int) -> None:
    open_period = await client.post("/v1/sla/kolkata/statements?period=2026-11", headers=ADMIN)
    assert open_period.status_code == 409
    issued = await client.post(
        "/v1/sla/kolkata/statements?period=2026-10-30&kind=getbalance", headers=ADMIN
    )
    assert issued.status_code == 200, issued.text
    [first] = issued.json()
    assert not first["alreadyIssued"]
    assert len(first["evidence"]["digest"]) == 64
    again = (
        await client.post(
            "/v1/sla/kolkata/statements?period=2026-10-30&kind=getbalance", headers=ADMIN
        )
    ).json()
    assert again[0]["alreadyIssued"]
    assert again[0]["id"] == first["id"]
    listed = (await client.get("/v1/sla/kolkata/statements", headers=ADMIN)).json()
    assert [s["id"] for s in listed] == [first["id"]]
    one = await client.get(f"/v1/sla/kolkata/statements/{first['id']}", headers=ADMIN)
    assert one.json()["statement"] == first["statement"]
    check = (
        await client.get(f"/v1/sla/kolkata/statements/{first['id']}/verification", headers=ADMIN)
    ).json()
    assert check["reproducible"] is True
    missing = await client.get("/v1/sla/kolkata/statements/999", headers=ADMIN)
    assert missing.status_code == 404


async def test_contract_round_trip_and_validation(client: httpx.AsyncClient, kolkata: int) -> None:
    default = (await client.get("/v1/sla/kolkata/contract", headers=ADMIN)).json()
    assert default == {
        "operatorId": "kolkata",
        "isDefault": True,
        "availabilityTarget": 99.9,
        "latencyTargetMs": 400.0,
        "latencyStatistic": "avg",
        "updatedAt": None,
    }
    bad = await client.put(
        "/v1/sla/kolkata/contract", json={"availabilityTarget": 100}, headers=ADMIN
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "availabilityTarget"
    put = await client.put(
        "/v1/sla/kolkata/contract",
        json={"availabilityTarget": 99.95, "latencyTargetMs": 300, "latencyStatistic": "p95"},
        headers=ADMIN,
    )
    assert put.status_code == 200
    report = (
        await client.get("/v1/sla/kolkata?period=2026-10-30&kind=getbalance", headers=ADMIN)
    ).json()
    assert report["statements"][0]["statement"]["contract"]["latencyStatistic"] == "p95"


async def test_maintenance_windows(
    client: httpx.AsyncClient, kolkata: int, clock: FrozenClock
) -> None:
    now = clock.now()
    window = {
        "startsAt": (now + timedelta(days=8)).isoformat(),
        "endsAt": (now + timedelta(days=8, hours=2)).isoformat(),
        "impact": "Core network upgrade; GetBalance unavailable",
    }
    created = await client.post("/v1/sla/kolkata/maintenance", json=window, headers=ADMIN)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["lateNotice"] is False
    assert body["excludedFromSla"] is True
    assert body["noticeBusinessDays"] >= 5
    late = await client.post(
        "/v1/sla/kolkata/maintenance",
        json={
            **window,
            "startsAt": (now + timedelta(days=1)).isoformat(),
            "endsAt": (now + timedelta(days=1, hours=1)).isoformat(),
        },
        headers=ADMIN,
    )
    assert late.json()["lateNotice"] is True
    assert late.json()["excludedFromSla"] is False
    backwards = await client.post(
        "/v1/sla/kolkata/maintenance", json={**window, "endsAt": window["startsAt"]}, headers=ADMIN
    )
    assert backwards.status_code == 400
    listed = await client.get("/v1/sla/kolkata/maintenance", headers=ADMIN)
    assert len(listed.json()) == 2
    cancelled = await client.post(f"/v1/sla/kolkata/maintenance/{body['id']}/cancel", headers=ADMIN)
    assert cancelled.json()["cancelledAt"] is not None
    assert cancelled.json()["excludedFromSla"] is False


async def test_burn_rates(client: httpx.AsyncClient, kolkata: int) -> None:
    response = await client.get("/v1/sla/kolkata/burn-rates", headers=ADMIN)
    assert response.status_code == 200
    probes = response.json()["probes"]
    assert {p["kind"] for p in probes} == {"getbalance", "portal"}
    assert [w["windowSeconds"] for w in probes[0]["windows"]] == [300, 1800, 3600, 21600, 259200]


async def test_traffic_failures(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    async with session_scope(sessions) as session:
        for outcome, status in (("ok", 200), ("ok", 200), ("timeout", None), ("http_error", 404)):
            session.add(
                BalanceLookup(
                    at=now - timedelta(seconds=20),
                    operator_id="contoso",
                    environment="production",
                    iccid="8901999000000000001",
                    ms_transaction_id="MSFT-1",
                    outcome=outcome,
                    status_code=status,
                    latency_ms=5.0,
                )
            )
    body = (await client.get("/v1/traffic/failures?window=300", headers=ADMIN)).json()
    assert body["windowSeconds"] == 300
    assert body["global"]["requests"] == 4
    assert body["global"]["failurePercent"] == 25.0
    assert body["partners"][0]["balance"]["clientSide"] == 1
    short = await client.get("/v1/traffic/failures?window=5", headers=ADMIN)
    assert short.status_code == 400
    assert short.json()["field"] == "window"


async def test_no_period_is_the_operators_current_month_in_progress_at_the_brokers_clock(
    client: httpx.AsyncClient, kolkata: int, clock: FrozenClock
) -> None:
    response = await client.get("/v1/sla/kolkata", headers=ADMIN)
    assert response.status_code == 200
    period = response.json()["period"]
    # the frozen clock is 2026-11-02 09:00 UTC: November in Asia/Kolkata began at 18:30 UTC
    assert period["start"] == "2026-10-31T18:30:00Z"
    assert period["inProgress"] is True
    assert period["generatedAt"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
