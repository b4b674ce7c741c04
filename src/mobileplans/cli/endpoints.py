"""``endpoints.json``: where everything of a local stack answers, and the demo data to use."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.demo import DEMO_OPERATOR_IDS
from mobileplans.cli.demo_operator import PROFILE_TYPE, demo_summary
from mobileplans.cli.demo_registry import Ports
from mobileplans.cli.demo_smdp import callback_url, requester_id
from mobileplans.config import Settings
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase, OperatorSpec
from mobileplans.kit.identifiers import eid_with_check_digits, iccid_check_digit

DELAY_MINUTE_SECONDS = 1.0
"""In the demo a download-delay "minute" lasts one second (operator and simulator agree)."""


def fresh_eids(count: int = 10) -> list[str]:
    """EIDs no device of this stack has used: SGP.26-style test prefix, random serial."""
    return [
        eid_with_check_digits("89049032" + f"{secrets.randbelow(10**22):022d}")
        for _ in range(count)
    ]


def demo_imei() -> str:
    body = "35" + f"{secrets.randbelow(10**12):012d}"
    return body + iccid_check_digit(body)


def _operator_entry(op: OperatorSpec, settings: Settings) -> dict[str, Any]:
    env = op.environments.get(settings.environment)
    return {
        "id": op.id,
        "name": op.brand_name,
        "countries": op.countries,
        "portal_url": env.portal_url if env else None,
        "mo_base_url": env.mo_base_url if env else None,
        "iccid_ranges": [
            [r.start, r.end, r.kind.value]
            for r in op.iccid_ranges
            if r.environment == settings.environment
        ],
    }


def demo_section(
    ports: Ports, operator_ids: list[str], onboarding: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``onboarding``: the demo operators not launched yet; a new eSIM PC (no SIM of their
    production test range) meets them in the staging catalog (D146, D167)."""
    per_operator = {op: demo_summary(op) for op in operator_ids}
    for op in onboarding & set(per_operator):
        per_operator[op]["catalog_environment"] = "staging"
    main = per_operator.get("contoso") or next(iter(per_operator.values()), None)
    main_id = (
        "contoso" if "contoso" in per_operator else (operator_ids[0] if operator_ids else None)
    )
    return {
        "operators": operator_ids,
        "eids": fresh_eids(),
        "sims": main["sims"] if main else {},
        "accounts": main["accounts"] if main else {},
        "plans": main["plans"] if main else {},
        "by_operator": per_operator,
        "delay_minute_seconds": DELAY_MINUTE_SECONDS,
        "location": "US",
        "imei": demo_imei(),
        "es2plus": {
            "url": ports.smdp,
            "requester_id": requester_id(main_id) if main_id else None,
            "profile_types": [PROFILE_TYPE[op] for op in operator_ids],
        },
        "es2plus_operator_callback": callback_url(ports.operator, main_id) if main_id else None,
    }


async def endpoints_summary(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, ports: Ports, token: str
) -> dict[str, Any]:
    async with session_scope(sessions) as session:
        operators = await registry_service.list_operators(session)
    demo_ids = [i for i in DEMO_OPERATOR_IDS if any(o.id == i for o in operators)]
    onboarding = frozenset(
        o.id for o in operators if o.onboarding_phase is not OnboardingPhase.LAUNCHED
    )
    return {
        "broker": ports.broker,
        "operator": ports.operator,
        "smdp": ports.smdp,
        "dashboard": ports.console,
        "admin_token": token,
        "environment": settings.environment.value,
        "operators": [_operator_entry(op, settings) for op in operators],
        "demo": demo_section(ports, demo_ids, onboarding),
    }
