"""The reference operator's demo: plans, SIMs in every documented state, an existing account.

Seeded through the subscriber services on the first ``up``; later runs find it in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.demo import DEMO_PHONE, demo_sim, warm_pool
from mobileplans.db.session import session_scope
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber import service as subscriber_service
from mobileplans.domains.subscriber.schemas import LineStatus, PlanIn, PlanRead, SimKind
from mobileplans.kit.identifiers import eid_with_check_digits

PREFIX = {"contoso": "8901999", "fabrikam": "8944999"}
PROFILE_TYPE = {"contoso": "contoso-consumer", "fabrikam": "fabrikam-consumer"}
DEMO_PASSWORD = "demo-password-1"  # noqa: S105 (a published demo account, see endpoints.json)


def _plan(
    code: str,
    name: str,
    kind: str,
    mb: float,
    days: int,
    cents: int,
    currency: str,
    countries: list[str],
    profile_type: str,
    delay: int = 0,
) -> PlanIn:
    return PlanIn.model_validate(
        {
            "code": code,
            "name": name,
            "kind": kind,
            "dataMb": mb,
            "validityDays": days,
            "priceCents": cents,
            "currency": currency,
            "countries": countries,
            "profileType": profile_type,
            "downloadDelayMinutes": delay,
        }
    )


def demo_plans(operator_id: str) -> list[PlanIn]:
    t = PROFILE_TYPE[operator_id]
    if operator_id == "contoso":
        us = ["US"]
        return [
            _plan(
                "contoso-1gb-day", "Contoso 1 GB Day Pass", "prepaid", 1024, 1, 500, "USD", us, t
            ),
            _plan(
                "contoso-5gb-month", "Contoso 5 GB Monthly", "prepaid", 5120, 30, 2000, "USD", us, t
            ),
            _plan(
                "contoso-postpaid-20gb",
                "Contoso Unlimited Talk + 20 GB",
                "postpaid",
                20480,
                30,
                4500,
                "USD",
                us,
                t,
            ),
            _plan(
                "contoso-5gb-later",
                "Contoso 5 GB (profile later)",
                "prepaid",
                5120,
                30,
                2000,
                "USD",
                us,
                t,
                delay=1,
            ),
        ]
    eu = ["GB", "FR"]
    return [
        _plan("fabrikam-2gb-week", "Fabrikam 2 GB Week", "prepaid", 2048, 7, 600, "GBP", eu, t),
        _plan(
            "fabrikam-10gb-month", "Fabrikam 10 GB Month", "prepaid", 10240, 30, 1500, "GBP", eu, t
        ),
        _plan(
            "fabrikam-postpaid-30gb",
            "Fabrikam 30 GB Contract",
            "postpaid",
            30720,
            30,
            2500,
            "GBP",
            eu,
            t,
        ),
        _plan(
            "fabrikam-2gb-later",
            "Fabrikam 2 GB (profile later)",
            "prepaid",
            2048,
            7,
            600,
            "GBP",
            eu,
            t,
            delay=1,
        ),
    ]


def existing_account(operator_id: str) -> dict[str, str]:
    return {
        "operator": operator_id,
        "email": f"alex@{operator_id}.example",
        "password": DEMO_PASSWORD,
        "iccid": demo_sim(PREFIX[operator_id], "active_prepaid"),
        "eid": eid_with_check_digits(
            "890490320000000000000000000" + ("001" if operator_id == "contoso" else "002")
        ),
    }


async def _seed_sims(
    session: AsyncSession, operator_id: str, plans: list[PlanRead], now: datetime
) -> None:
    prefix, prepaid = PREFIX[operator_id], plans[1]
    account = existing_account(operator_id)
    owner = await subscriber_service.sign_up(
        session,
        operator_id,
        email=account["email"],
        password=DEMO_PASSWORD,
        display_name="Alex Demo",
        now=now,
    )
    await subscriber_service.save_payment_instrument(session, owner.id, "4242")
    lines: list[tuple[str, SimKind, LineStatus, str | None, int | None, bool]] = [
        ("monitoring_iccid", SimKind.PHYSICAL, LineStatus.ACTIVE, None, None, True),
        ("active_prepaid", SimKind.ESIM, LineStatus.ACTIVE, account["eid"], owner.id, True),
        ("zero_balance", SimKind.ESIM, LineStatus.ACTIVE, None, owner.id, True),
        ("not_supported", SimKind.PHYSICAL, LineStatus.ACTIVE, None, None, False),
        ("warm_sim", SimKind.PHYSICAL, LineStatus.WARM, None, None, True),
    ]
    for role, kind, status, eid, account_id, supported in lines:
        await subscriber_service.create_line(
            session,
            operator_id,
            iccid=demo_sim(prefix, role),
            sim_kind=kind,
            status=status,
            now=now,
            eid=eid,
            account_id=account_id,
            supported=supported,
        )
    await balance_service.credit(session, demo_sim(prefix, "active_prepaid"), prepaid, now=now)
    zero = demo_sim(prefix, "zero_balance")
    await balance_service.credit(session, zero, plans[0], now=now)
    await balance_service.use_data(session, operator_id, zero, plans[0].data_mb, now=now)


async def ensure_operator_demo(
    sessions: async_sessionmaker[AsyncSession], operator_ids: list[str], now: datetime
) -> None:
    """Plans always (codes are stable); demo SIMs and the existing account only once."""
    for operator_id in operator_ids:
        async with session_scope(sessions) as session:
            plans = await subscriber_service.ensure_plans(
                session, operator_id, demo_plans(operator_id)
            )
            seeded = await subscriber_service.find_line(
                session, operator_id, demo_sim(PREFIX[operator_id], "active_prepaid")
            )
            if seeded is None:
                await _seed_sims(session, operator_id, plans, now)
            await _ensure_warm_pool(session, operator_id, now)


async def _ensure_warm_pool(session: AsyncSession, operator_id: str, now: datetime) -> None:
    """Warm physical SIMs: attach to the network, no subscription (spec 1.3)."""
    for iccid in warm_pool(PREFIX[operator_id]):
        if await subscriber_service.find_line(session, operator_id, iccid) is None:
            await subscriber_service.create_line(
                session,
                operator_id,
                iccid=iccid,
                sim_kind=SimKind.PHYSICAL,
                status=LineStatus.WARM,
                now=now,
            )


def demo_summary(operator_id: str) -> dict[str, Any]:
    plans = demo_plans(operator_id)
    roles = ("active_prepaid", "zero_balance", "not_supported", "warm_sim", "monitoring_iccid")
    sims: dict[str, Any] = {role: demo_sim(PREFIX[operator_id], role) for role in roles}
    sims["warm_sims"] = warm_pool(PREFIX[operator_id])
    return {
        "sims": sims,
        "accounts": {"existing": existing_account(operator_id)},
        "plans": {"prepaid": plans[1].code, "postpaid": plans[2].code, "delayed": plans[3].code},
        "profile_type": PROFILE_TYPE[operator_id],
        "phone_number": DEMO_PHONE[operator_id][1],
    }
