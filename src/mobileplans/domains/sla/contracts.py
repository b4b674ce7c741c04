"""Per-operator SLA contracts: targets default to spec 5.2 (99.9 %, 400 ms, average)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import SlaContract
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.sla import repository
from mobileplans.domains.sla.schemas import ContractRead, ContractTerms, LatencyStatistic

DEFAULT_TERMS = ContractTerms()


def _read(operator_id: str, row: SlaContract | None) -> ContractRead:
    if row is None:
        return ContractRead(operator_id=operator_id, is_default=True, **DEFAULT_TERMS.model_dump())
    statistic: LatencyStatistic = row.latency_statistic  # type: ignore[assignment]
    return ContractRead(
        operator_id=operator_id,
        is_default=False,
        availability_target=row.availability_target,
        latency_target_ms=row.latency_target_ms,
        latency_statistic=statistic,
        updated_at=row.updated_at,
    )


def terms(contract: ContractRead) -> ContractTerms:
    return ContractTerms(
        availability_target=contract.availability_target,
        latency_target_ms=contract.latency_target_ms,
        latency_statistic=contract.latency_statistic,
    )


async def contracts_for(
    session: AsyncSession, operator_ids: Sequence[str] | None
) -> dict[str, ContractTerms]:
    """Stored terms by operator; operators without a row get :data:`DEFAULT_TERMS`."""
    rows = await repository.contracts(session, operator_ids)
    return {r.operator_id: terms(_read(r.operator_id, r)) for r in rows}


async def get_contract(session: AsyncSession, operator_id: str) -> ContractRead:
    await registry_service.get_operator(session, operator_id)  # 404 for an unknown operator
    rows = await repository.contracts(session, [operator_id])
    return _read(operator_id, rows[0] if rows else None)


async def put_contract(
    session: AsyncSession, operator_id: str, new_terms: ContractTerms, *, now: datetime
) -> ContractRead:
    await registry_service.get_operator(session, operator_id)
    await repository.upsert_contract(
        session,
        {
            "operator_id": operator_id,
            "availability_target": new_terms.availability_target,
            "latency_target_ms": new_terms.latency_target_ms,
            "latency_statistic": new_terms.latency_statistic,
            "updated_at": now,
        },
    )
    return ContractRead(
        operator_id=operator_id, is_default=False, updated_at=now, **new_terms.model_dump()
    )
