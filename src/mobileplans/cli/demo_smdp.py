"""SM-DP+ demo: each demo operator's ES2+ requester and a stock of Available profiles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.demo_operator import PROFILE_TYPE
from mobileplans.config import Environment
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.smdp import inventory
from mobileplans.errors import NotFound

STOCK = 200
"""Available profiles kept per demo operator; topped up on every ``up``."""


def requester_id(operator_id: str) -> str:
    return f"{operator_id}-bss"


def callback_url(operator_base: str, operator_id: str) -> str:
    return f"{operator_base}/{operator_id}/gsma/rsp2/es2plus/handleDownloadProgressInfo"


async def ensure_smdp_demo(
    sessions: async_sessionmaker[AsyncSession],
    operator_base: str,
    operator_ids: list[str],
    now: datetime,
) -> dict[str, int]:
    """Register requesters and top the inventory up; returns profiles created per operator."""
    created: dict[str, int] = {}
    for operator_id in operator_ids:
        async with session_scope(sessions) as session:
            try:
                spec = await registry_service.get_operator(session, operator_id)
            except NotFound:
                continue  # the user removed this demo operator
            await inventory.register_requester(
                session,
                requester_id=requester_id(operator_id),
                operator_id=operator_id,
                callback_url=callback_url(operator_base, operator_id),
                now=now,
            )
            ranges = await inventory.ranges_for(session, operator_id, Environment.PRODUCTION)
            new = await inventory.top_up_profiles(
                session,
                operator_id=operator_id,
                ranges=ranges,
                profile_type=PROFILE_TYPE[operator_id],
                available=STOCK,
                now=now,
                spn=spec.brand_name[:32],
                profile_name=f"{spec.brand_name} eSIM"[:64],
            )
            created[operator_id] = len(new)
    return created
