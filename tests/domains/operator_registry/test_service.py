"""Operator registry use cases against a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import AuditEntry, IccidRange, Operator
from mobileplans.db.session import session_scope
from mobileplans.domains.audit import service as audit_service
from mobileplans.domains.operator_registry import service
from mobileplans.domains.operator_registry.schemas import (
    IccidRangeIn,
    OperatorSpec,
    RegistryDocument,
)
from mobileplans.domains.operator_registry.snapshot import load_snapshot
from mobileplans.errors import BadRequest, Conflict, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data, operator_spec

Sessions = async_sessionmaker[AsyncSession]


async def count(sessions: Sessions, model: type) -> int:
    async with session_scope(sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def put(sessions: Sessions, clock: FrozenClock, **kwargs: object) -> None:
    async with session_scope(sessions) as session:
        await service.put_operator(session, operator_spec(**kwargs), actor="t", now=clock.now())  # type: ignore[arg-type]


class TestPutOperator:
    async def test_create_then_update_then_no_op(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        async with session_scope(sessions) as session:
            stored, created = await service.put_operator(
                session, operator_spec(), actor="alice", now=clock.now()
            )
            assert created
            assert stored.brand_name == "Contoso Cellular"
            assert await service.config_version(session) == 1
        async with session_scope(sessions) as session:
            renamed = operator_spec(brand="Contoso Mobile")
            stored, created = await service.put_operator(
                session, renamed, actor="bob", now=clock.now()
            )
            assert not created
            assert stored.brand_name == "Contoso Mobile"
            assert await service.config_version(session) == 2
            await service.put_operator(session, renamed, actor="bob", now=clock.now())
            assert await service.config_version(session) == 2  # unchanged: no bump, no audit
            entries = await audit_service.list_entries(session, entity_id="contoso")
        assert [(e.action, e.actor) for e in entries] == [("update", "bob"), ("create", "alice")]
        assert entries[0].before is not None
        assert entries[0].before["brandName"] == "Contoso Cellular"
        assert entries[0].after is not None
        assert entries[0].after["brandName"] == "Contoso Mobile"

    async def test_round_trips_every_field(self, sessions: Sessions, clock: FrozenClock) -> None:
        spec = operator_spec(
            environments=("staging", "production"),
            plmns=["001-01"],
            logo={"uri": "https://c.example/logo.png", "width": 300, "height": 300},
            gatewayTemplates=[
                {
                    "id": "0",
                    "bodyText": "Hi",
                    "images": [{"uri": "https://c.example/g.png", "width": 740, "height": 480}],
                }
            ],
            monitoringIccid="89019990000000000014",
            onboardingPhase="integration",
            callbackApi="legacy",
            timezone="America/Los_Angeles",
            contacts=[
                {
                    "name": "NOC",
                    "email": "noc@contoso.example",
                    "severity": "sev1",
                    "environment": "production",
                }
            ],
        )
        async with session_scope(sessions) as session:
            stored, _ = await service.put_operator(session, spec, actor="t", now=clock.now())
        assert stored.wire() == spec.wire()

    async def test_range_edit_keeps_unchanged_rows(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        await put(sessions, clock, environments=("staging", "production"))
        data = operator_data(environments=("staging", "production"))
        data["iccidRanges"][0]["end"] = "8901999050000000000"
        async with session_scope(sessions) as session:
            before = {r.environment: r for r in await service.list_ranges(session, "contoso")}
            await service.put_operator(
                session, OperatorSpec.model_validate(data), actor="t", now=clock.now()
            )
            after = {r.environment: r for r in await service.list_ranges(session, "contoso")}
        assert after["production"] == before["production"]
        assert after["staging"].end == "8901999050000000000"

    async def test_overlap_with_another_operator_is_rejected_and_nothing_written(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        await put(sessions, clock)
        with pytest.raises(Conflict) as caught:
            async with session_scope(sessions) as session:
                await service.put_operator(
                    session,
                    operator_spec("fabrikam", brand="Fabrikam", prefix="8901999"),
                    actor="t",
                    now=clock.now(),
                )
        assert "contoso" in caught.value.detail
        assert "fabrikam" in caught.value.detail
        assert await count(sessions, Operator) == 1
        assert await count(sessions, IccidRange) == 1
        assert await count(sessions, AuditEntry) == 1


class TestRanges:
    async def test_add_and_delete_a_range(self, sessions: Sessions, clock: FrozenClock) -> None:
        await put(sessions, clock)
        rng = IccidRangeIn.model_validate(
            {
                "environment": "production",
                "start": "8901999500000000000",
                "end": "8901999599999999999",
                "kind": "test",
            }
        )
        async with session_scope(sessions) as session:
            added = await service.add_range(session, "contoso", rng, actor="t", now=clock.now())
        assert added.kind == "test"
        assert added.operator_id == "contoso"
        async with session_scope(sessions) as session:
            snapshot = await load_snapshot(session)
        owner = snapshot.index.resolve("8901999500000000001", "production")
        assert owner is not None
        assert owner.kind == "test"
        async with session_scope(sessions) as session:
            await service.delete_range(session, "contoso", added.id, actor="t", now=clock.now())
            snapshot = await load_snapshot(session)
        assert snapshot.index.resolve("8901999500000000001", "production") is None

    async def test_add_range_errors(self, sessions: Sessions, clock: FrozenClock) -> None:
        await put(sessions, clock)
        await put(sessions, clock, operator_id="fabrikam", brand="Fabrikam", prefix="8944999")
        overlapping = IccidRangeIn.model_validate(
            {
                "environment": "production",
                "start": "8944999000000000000",
                "end": "8944999000000000010",
            }
        )
        async with session_scope(sessions) as session:
            with pytest.raises(Conflict, match="fabrikam"):
                await service.add_range(session, "contoso", overlapping, actor="t", now=clock.now())
            staging = IccidRangeIn.model_validate(
                {
                    "environment": "staging",
                    "start": "8901999500000000000",
                    "end": "8901999500000000010",
                }
            )
            with pytest.raises(BadRequest, match="no staging settings"):
                await service.add_range(session, "contoso", staging, actor="t", now=clock.now())
            with pytest.raises(NotFound):
                await service.add_range(session, "nobody", staging, actor="t", now=clock.now())
            with pytest.raises(NotFound):
                await service.delete_range(session, "contoso", 9999, actor="t", now=clock.now())
        assert await count(sessions, IccidRange) == 2


class TestImport:
    async def test_import_replaces_the_whole_configuration(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        await put(sessions, clock)
        await put(sessions, clock, operator_id="old", brand="Old", prefix="8933999")
        document = RegistryDocument.model_validate(
            {
                "operators": [
                    operator_data(brand="Contoso Mobile"),
                    operator_data("fabrikam", brand="Fabrikam", prefix="8944999"),
                ]
            }
        )
        clock.advance(timedelta(minutes=1))
        async with session_scope(sessions) as session:
            summary = await service.import_document(session, document, actor="t", now=clock.now())
            exported = await service.export_document(session)
        assert (summary.created, summary.updated, summary.deleted, summary.unchanged) == (
            ["fabrikam"],
            ["contoso"],
            ["old"],
            [],
        )
        assert exported == document

    async def test_import_with_overlaps_changes_nothing(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        await put(sessions, clock)
        document = RegistryDocument.model_validate(
            {
                "operators": [
                    operator_data("a", brand="A", prefix="8944999"),
                    operator_data("b", brand="B", prefix="8944999"),
                ]
            }
        )
        with pytest.raises(Conflict):
            async with session_scope(sessions) as session:
                await service.import_document(session, document, actor="t", now=clock.now())
        async with session_scope(sessions) as session:
            assert [op.id for op in await service.list_operators(session)] == ["contoso"]
            assert await service.config_version(session) == 1


async def test_delete_operator_cascades(sessions: Sessions, clock: FrozenClock) -> None:
    await put(sessions, clock)
    async with session_scope(sessions) as session:
        await service.delete_operator(session, "contoso", actor="t", now=clock.now())
        with pytest.raises(NotFound):
            await service.get_operator(session, "contoso")
    assert await count(sessions, IccidRange) == 0
