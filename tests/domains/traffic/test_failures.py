"""Partner and global failure percentages from GetBalance proxy calls and purchase telemetry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import BalanceLookup, PortalLaunch, PurchaseTelemetry
from mobileplans.db.session import session_scope
from mobileplans.domains.traffic import service
from mobileplans.errors import BadRequest
from mobileplans.kit.clock import FrozenClock


def lookup(
    at: datetime, operator_id: str, outcome: str, status: int | None = None, env: str = "production"
) -> BalanceLookup:
    return BalanceLookup(
        at=at,
        operator_id=operator_id,
        environment=env,
        iccid="8901999000000000001",
        ms_transaction_id="MSFT-x",
        outcome=outcome,
        status_code=status,
        latency_ms=12.0,
    )


def purchase(at: datetime, operator_id: str | None, status: str, n: int) -> PurchaseTelemetry:
    return PurchaseTelemetry(
        received_at=at,
        transaction_id=f"tx-{operator_id}-{status}-{n}",
        operator_id=operator_id,
        callback="purchaseMetadata",
        mo_direct_status=status,
        plan_name="Plan" if status == "Complete" else "",
        raw={},
    )


async def seed(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    inside, outside = now - timedelta(seconds=30), now - timedelta(seconds=301)
    rows: list[object] = []
    rows += [lookup(inside, "contoso", "ok", 200) for _ in range(6)]
    rows += [lookup(inside, "contoso", "http_error", 404)]  # unknown SIM: client-side miss
    rows += [lookup(inside, "contoso", "http_error", 503), lookup(inside, "contoso", "timeout")]
    rows += [lookup(inside, "contoso", "cached", 200) for _ in range(5)]  # no upstream call
    rows += [lookup(inside, "fabrikam", "connect_error"), lookup(inside, "fabrikam", "tls_error")]
    rows += [lookup(outside, "fabrikam", "ok", 200) for _ in range(50)]  # outside the window
    rows += [lookup(inside, "zephyr", "bad_body", 200, env="staging")]
    statuses = ["Complete", "ServiceError", "Cancelled", "Bailed", "None", "BillingError"]
    rows += [purchase(inside, "contoso", s, i) for i, s in enumerate(statuses)]
    rows += [
        purchase(inside, "fabrikam", "PurchaseFailed", 9),
        purchase(inside, None, "Complete", 10),
    ]
    rows += [purchase(outside, "fabrikam", "ServiceError", 11)]
    async with session_scope(sessions) as session:
        session.add_all(rows)


async def test_partner_and_global_percentages(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    await seed(sessions, now)
    async with session_scope(sessions) as session:
        report = await service.failure_percentages(session, now=now)
    assert report.window_seconds == 300
    partners = {p.operator_id: p for p in report.partners}
    contoso = partners["contoso"]
    assert (contoso.balance.requests, contoso.balance.failures) == (9, 2)
    assert contoso.balance.client_side == 1
    assert (contoso.purchase.requests, contoso.purchase.failures) == (6, 2)
    assert contoso.purchase.client_side == 3
    assert (contoso.requests, contoso.failures) == (15, 4)
    assert contoso.failure_percent == round(4 * 100 / 15, 3)
    fabrikam = partners["fabrikam"]
    assert (fabrikam.requests, fabrikam.failures, fabrikam.failure_percent) == (3, 3, 100.0)
    assert partners["zephyr"].failure_percent == 100.0
    overall = report.global_traffic
    assert (overall.requests, overall.failures) == (9 + 2 + 1 + 6 + 1 + 1, 2 + 2 + 1 + 2 + 1)
    assert overall.purchase.requests == 8  # the report without an operator counts globally
    assert report.wire()["global"]["requests"] == overall.requests


async def test_environment_filter_and_window(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    await seed(sessions, now)
    async with session_scope(sessions) as session:
        session.add(
            PortalLaunch(
                transaction_id="tx-fabrikam-PurchaseFailed-9",
                created_at=now,
                operator_id="fabrikam",
                environment="production",
                location="GB",
                market="GB",
                iccids=[],
                portal_url="https://portal.fabrikam.example/",
            )
        )
    async with session_scope(sessions) as session:
        production = await service.failure_percentages(session, now=now, environment="production")
        wide = await service.failure_percentages(session, now=now, window=timedelta(minutes=10))
    names = [p.operator_id for p in production.partners]
    assert "zephyr" not in names
    assert production.global_traffic.purchase.requests == 1  # only the launched transaction
    assert {p.operator_id: p.requests for p in wide.partners}["fabrikam"] == 3 + 50 + 1


async def test_no_traffic_gives_null_percentages_and_bad_windows_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with session_scope(sessions) as session:
        report = await service.failure_percentages(session, now=clock.now())
    assert report.partners == []
    assert report.global_traffic.requests == 0
    assert report.global_traffic.failure_percent is None
    for bad in (0, 9, 7 * 86400 + 1):
        with pytest.raises(BadRequest) as caught:
            service.window_of(bad)
        assert caught.value.extra["field"] == "window"
    assert service.window_of(None) == timedelta(seconds=300)


@pytest.mark.parametrize(
    ("outcome", "status", "verdict"),
    [
        ("ok", 200, "success"),
        ("http_error", 404, "client_side"),
        ("http_error", 429, "failure"),
        ("http_error", 500, "failure"),
        ("timeout", None, "failure"),
        ("bad_body", 200, "failure"),
        ("cached", 200, None),
    ],
)
def test_lookup_classification(outcome: str, status: int | None, verdict: str | None) -> None:
    assert service.classify_lookup(outcome, status) == verdict


async def test_one_partner_counted_from_its_rows_alone(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    await seed(sessions, now)
    async with session_scope(sessions) as session:
        everyone = await service.failure_percentages(session, now=now)
        contoso = await service.partner_failures(session, "contoso", now=now)
        fabrikam = await service.partner_failures(session, "fabrikam", now=now, window=600)
        nobody = await service.partner_failures(session, "nobody", now=now)
    expected = next(p for p in everyone.partners if p.operator_id == "contoso")
    assert contoso.model_dump() == expected.model_dump(exclude={"operator_id"})
    assert (fabrikam.balance.requests, fabrikam.balance.failures) == (52, 2)  # 10 minutes
    assert (fabrikam.purchase.requests, fabrikam.purchase.failures) == (2, 2)
    assert (nobody.requests, nobody.failure_percent) == (0, None)
