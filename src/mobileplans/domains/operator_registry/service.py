"""Operator registry use cases. Functions take the session and never commit.

Every change is validated before anything is written (ranges may not overlap
another operator's, spec 3.1 / issue #2), writes an audit entry with before and
after, and bumps the configuration version that broker replicas poll.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import IccidRange, Operator
from mobileplans.db.reads import Reads
from mobileplans.domains.audit import service as audit_service
from mobileplans.domains.operator_registry import mapping, repository
from mobileplans.domains.operator_registry.iccid_index import RangeRef, find_overlaps
from mobileplans.domains.operator_registry.phone_numbers import PrefixRef, check_no_prefix_overlap
from mobileplans.domains.operator_registry.schemas import (
    IccidRangeIn,
    IccidRangeRead,
    ImportSummary,
    OnboardingPhase,
    OperatorSpec,
    RegistryDocument,
)
from mobileplans.errors import BadRequest, Conflict, NotFound


def check_no_overlap(ranges: Iterable[RangeRef]) -> None:
    """Raise :class:`Conflict` naming both ranges of every overlapping pair."""
    overlaps = find_overlaps(ranges)
    if overlaps:
        messages = [o.message() for o in overlaps]
        raise Conflict(messages[0], overlaps=messages)


def _prefix_refs(spec: OperatorSpec) -> list[PrefixRef]:
    return [PrefixRef(spec.id, p) for p in spec.phone_prefixes or ()]


async def list_operators(session: AsyncSession) -> list[OperatorSpec]:
    return [mapping.to_spec(row) for row in await repository.list_all(session)]


async def get_operator(session: AsyncSession, operator_id: str) -> OperatorSpec:
    return mapping.to_spec(await _load(session, operator_id))


async def _load(session: AsyncSession, operator_id: str) -> Operator:
    row = await repository.get(session, operator_id)
    if row is None:
        raise NotFound(f"operator {operator_id!r} does not exist", operator=operator_id)
    return row


async def put_operator(
    session: AsyncSession, spec: OperatorSpec, *, actor: str, now: datetime
) -> tuple[OperatorSpec, bool]:
    """Create or replace one operator. Returns the stored spec and whether it was created."""
    others = [mapping.range_ref(r) for r in await repository.ranges_of_others(session, spec.id)]
    check_no_overlap(others + [mapping.spec_range_ref(spec.id, r) for r in spec.iccid_ranges])
    check_no_prefix_overlap(
        [PrefixRef(op, p) for op, p in await repository.prefixes_of_others(session, spec.id)]
        + _prefix_refs(spec)
    )
    created = await _upsert(session, spec, actor=actor, now=now)
    if created is not None:
        await repository.bump_version(session, now)
    return await get_operator(session, spec.id), created is True


async def _upsert(
    session: AsyncSession, spec: OperatorSpec, *, actor: str, now: datetime
) -> bool | None:
    """Write ``spec``; True if created, False if changed, None if nothing changed."""
    row = await repository.get(session, spec.id)
    if row is not None and "onboarding_phase" not in spec.model_fields_set:
        # A document that does not name the phase keeps the stored one (D140).
        spec = spec.model_copy(update={"onboarding_phase": OnboardingPhase(row.onboarding_phase)})
    before = mapping.to_spec(row).wire() if row is not None else None
    if before == spec.wire():
        return None
    if row is None:
        row = Operator(id=spec.id, created_at=now, environments=[], contacts=[], iccid_ranges=[])
        repository.add(session, row)
    mapping.apply_spec(row, spec, now)
    kept, added = mapping.split_ranges(row, spec)
    row.iccid_ranges = kept
    await session.flush()
    row.iccid_ranges.extend(added)
    await session.flush()
    audit_service.record(
        session,
        actor=actor,
        action="create" if before is None else "update",
        entity_type="operator",
        entity_id=spec.id,
        before=before,
        after=spec.wire(),
        now=now,
    )
    return before is None


async def delete_operator(
    session: AsyncSession, operator_id: str, *, actor: str, now: datetime
) -> None:
    row = await _load(session, operator_id)
    before = mapping.to_spec(row).wire()
    await repository.delete(session, row)
    audit_service.record(
        session,
        actor=actor,
        action="delete",
        entity_type="operator",
        entity_id=operator_id,
        before=before,
        after=None,
        now=now,
    )
    await repository.bump_version(session, now)


async def add_range(
    session: AsyncSession,
    operator_id: str,
    rng: IccidRangeIn,
    *,
    actor: str,
    now: datetime,
) -> IccidRangeRead:
    row = await _load(session, operator_id)
    if rng.environment.value not in {e.environment for e in row.environments}:
        raise BadRequest(
            f"operator {operator_id!r} has no {rng.environment.value} settings",
            field="environment",
        )
    existing = [mapping.range_ref(r) for r in await repository.all_ranges(session)]
    check_no_overlap([*existing, mapping.spec_range_ref(operator_id, rng)])
    new = IccidRange(
        operator_id=operator_id,
        environment=rng.environment.value,
        start_iccid=rng.start,
        end_iccid=rng.end,
        kind=rng.kind.value,
    )
    repository.add(session, new)
    await session.flush()
    read = mapping.range_read(new)
    audit_service.record(
        session,
        actor=actor,
        action="create",
        entity_type="iccid_range",
        entity_id=f"{operator_id}/{new.id}",
        before=None,
        after=read.wire(),
        now=now,
    )
    await repository.bump_version(session, now)
    return read


async def delete_range(
    session: AsyncSession, operator_id: str, range_id: int, *, actor: str, now: datetime
) -> None:
    row = await repository.get_range(session, operator_id, range_id)
    if row is None:
        raise NotFound(f"operator {operator_id!r} has no ICCID range {range_id}")
    before = mapping.range_read(row).wire()
    await repository.delete(session, row)
    audit_service.record(
        session,
        actor=actor,
        action="delete",
        entity_type="iccid_range",
        entity_id=f"{operator_id}/{range_id}",
        before=before,
        after=None,
        now=now,
    )
    await repository.bump_version(session, now)


async def list_ranges(session: AsyncSession, operator_id: str) -> list[IccidRangeRead]:
    row = await _load(session, operator_id)
    return [mapping.range_read(r) for r in sorted(row.iccid_ranges, key=lambda r: r.id)]


async def export_document(session: AsyncSession) -> RegistryDocument:
    return RegistryDocument(operators=await list_operators(session))


async def import_document(
    session: AsyncSession, document: RegistryDocument, *, actor: str, now: datetime
) -> ImportSummary:
    """Make the stored configuration equal ``document`` (operators absent from it are deleted)."""
    check_no_overlap(
        mapping.spec_range_ref(op.id, r) for op in document.operators for r in op.iccid_ranges
    )
    check_no_prefix_overlap(ref for op in document.operators for ref in _prefix_refs(op))
    wanted = {op.id for op in document.operators}
    existing = await repository.list_all(session)
    deleted = sorted(row.id for row in existing if row.id not in wanted)
    for operator_id in deleted:
        await delete_operator(session, operator_id, actor=actor, now=now)
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for spec in document.operators:
        outcome = await _upsert(session, spec, actor=actor, now=now)
        {True: created, False: updated, None: unchanged}[outcome].append(spec.id)
    version = await repository.config_version(session)
    if created or updated:
        version = await repository.bump_version(session, now)
    return ImportSummary(
        created=created,
        updated=updated,
        deleted=deleted,
        unchanged=unchanged,
        version=version,
    )


async def config_version(source: AsyncSession | Reads) -> int:
    """``source``: a session, or driver-level reads for a poll (no transaction)."""
    return await repository.config_version(source)
