"""Probe definitions: sync from the operator registry, explicit probes, settings validation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import scheduler
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.schemas import (
    ProbeRead,
    ProbeSettings,
    ProbeSettingsPatch,
    SyncSummary,
)
from mobileplans.errors import BadRequest, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
ICCID = valid_iccid("890199900999999001")


async def put(sessions: Sessions, clock: FrozenClock, **data: Any) -> None:
    spec = OperatorSpec.model_validate(operator_data(**data))
    async with session_scope(sessions) as session:
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())


async def sync(sessions: Sessions, clock: FrozenClock) -> SyncSummary:
    async with session_scope(sessions) as session:
        return await probe_service.sync_from_registry(session, now=clock.now())


async def listed(sessions: Sessions) -> dict[str, ProbeRead]:
    async with sessions() as session:
        return {
            f"{p.operator_id}/{p.environment}/{p.kind}": p
            for p in await probe_service.list_probes(session)
        }


async def test_sync_creates_portal_and_getbalance_probes(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(
        sessions,
        clock,
        operator_id="contoso",
        monitoringIccid=ICCID,
        environments=("staging", "production"),
    )
    await put(sessions, clock, operator_id="fabrikam", brand="Fabrikam", prefix="8944999")
    summary = await sync(sessions, clock)
    assert sorted(summary.created) == [
        "contoso/production/getbalance",
        "contoso/production/portal",
        "contoso/staging/getbalance",
        "contoso/staging/portal",
        "fabrikam/production/portal",  # no monitoring ICCID: no GetBalance probe
    ]
    probes = await listed(sessions)
    portal = probes["contoso/production/portal"]
    assert portal.target_url == ("https://portal.contoso.example/mobileplans?market=US&location=US")
    assert probes["contoso/staging/getbalance"].target_url == (
        f"https://api.contoso.example/v1/sims/iccid%3A{ICCID}/balances?fieldsTemplate=basic"
    )
    assert (portal.interval_seconds, portal.timeout_seconds, portal.latency_target_ms) == (
        30,
        5.0,
        400.0,
    )
    assert portal.jitter_ms == scheduler.jitter_ms_for("contoso", "production", "portal", 30)
    assert clock.now() <= portal.next_run_at < clock.now() + timedelta(seconds=30)
    assert portal.enabled


async def test_sync_is_idempotent(sessions: Sessions, clock: FrozenClock) -> None:
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    await sync(sessions, clock)
    before = await listed(sessions)
    clock.advance(timedelta(minutes=3))
    again = await sync(sessions, clock)
    assert not again.changed
    assert again.unchanged == 2
    assert await listed(sessions) == before


async def test_vanished_operator_disables_and_returning_one_reenables(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    await sync(sessions, clock)
    async with session_scope(sessions) as session:
        await registry_service.delete_operator(session, "contoso", actor="t", now=clock.now())
    summary = await sync(sessions, clock)
    assert sorted(summary.disabled) == [
        "contoso/production/getbalance",
        "contoso/production/portal",
    ]
    assert not any(p.enabled for p in (await listed(sessions)).values())
    clock.advance(timedelta(hours=2))
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    back = await sync(sessions, clock)
    assert sorted(back.enabled) == ["contoso/production/getbalance", "contoso/production/portal"]
    for probe in (await listed(sessions)).values():
        assert probe.enabled
        assert clock.now() <= probe.next_run_at < clock.now() + timedelta(seconds=30)


async def test_disabled_environment_and_removed_iccid_disable_their_probes(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    await sync(sessions, clock)
    await put(sessions, clock, operator_id="contoso")  # monitoring ICCID removed
    assert (await sync(sessions, clock)).disabled == ["contoso/production/getbalance"]
    data = operator_data("contoso")
    data["environments"]["production"]["enabled"] = False
    async with session_scope(sessions) as session:
        await registry_service.put_operator(
            session, OperatorSpec.model_validate(data), actor="t", now=clock.now()
        )
    assert (await sync(sessions, clock)).disabled == ["contoso/production/portal"]


async def test_changed_url_is_updated_keeping_schedule_and_tuning(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(sessions, clock, operator_id="contoso")
    await sync(sessions, clock)
    (probe,) = (await listed(sessions)).values()
    async with session_scope(sessions) as session:
        await probe_service.update_settings(
            session, probe.id, ProbeSettingsPatch(interval_seconds=60), now=clock.now()
        )
    tuned = (await listed(sessions))["contoso/production/portal"]
    data = operator_data("contoso")
    data["environments"]["production"]["portalUrl"] = "https://new.contoso.example/p"
    async with session_scope(sessions) as session:
        await registry_service.put_operator(
            session, OperatorSpec.model_validate(data), actor="t", now=clock.now()
        )
    assert (await sync(sessions, clock)).updated == ["contoso/production/portal"]
    after = (await listed(sessions))["contoso/production/portal"]
    assert after.target_url == "https://new.contoso.example/p?market=US&location=US"
    assert (after.next_run_at, after.interval_seconds) == (tuned.next_run_at, 60)


async def test_microbalance_is_explicit_and_follows_its_target(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    async with session_scope(sessions) as session:
        created = await probe_service.add_probe(
            session,
            operator_id="contoso",
            environment="production",
            kind="microbalance",
            settings=ProbeSettings(),
            now=clock.now(),
        )
    assert created.target_url == (
        f"https://api.contoso.example/v1/sims/iccid%3A{ICCID}/microbalance?location=US"
    )
    assert sorted((await sync(sessions, clock)).created) == [
        "contoso/production/getbalance",
        "contoso/production/portal",
    ]
    assert (await listed(sessions))["contoso/production/microbalance"].enabled
    await put(sessions, clock, operator_id="contoso")  # ICCID gone: no target
    assert "contoso/production/microbalance" in (await sync(sessions, clock)).disabled
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    await sync(sessions, clock)
    probes = await listed(sessions)
    assert probes["contoso/production/getbalance"].enabled
    assert not probes["contoso/production/microbalance"].enabled  # never re-enabled by sync


async def test_add_probe_refuses_what_cannot_be_probed(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(sessions, clock, operator_id="contoso")
    cases = [
        ("contoso", "production", "xping", BadRequest, "kind"),
        ("contoso", "production", "microbalance", BadRequest, "environment"),
        ("contoso", "staging", "portal", BadRequest, "environment"),
        ("nobody", "production", "portal", NotFound, None),
    ]
    for operator_id, environment, kind, error, field in cases:
        async with session_scope(sessions) as session:
            with pytest.raises(error) as caught:
                await probe_service.add_probe(
                    session,
                    operator_id=operator_id,
                    environment=environment,
                    kind=kind,
                    settings=ProbeSettings(),
                    now=clock.now(),
                )
        assert caught.value.extra.get("field") == field
    assert await listed(sessions) == {}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"interval_seconds": 29}, "intervalSeconds"),
        ({"interval_seconds": 301}, "intervalSeconds"),
        ({"timeout_seconds": 0}, "timeoutSeconds"),
        ({"timeout_seconds": 11}, "timeoutSeconds"),
        ({"latency_target_ms": -1}, "latencyTargetMs"),
        ({"timeout_seconds": 0.3}, "latencyTargetMs"),  # 400 ms target > 300 ms timeout
    ],
)
def test_settings_are_validated(values: dict[str, float], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        probe_service.settings_of(**values)  # type: ignore[arg-type]
    assert caught.value.extra["field"] == field
    assert caught.value.detail.startswith(field)


async def test_new_interval_puts_the_probe_on_a_new_grid(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await put(sessions, clock, operator_id="contoso")
    await sync(sessions, clock)
    (probe,) = (await listed(sessions)).values()
    async with session_scope(sessions) as session:
        changed = await probe_service.update_settings(
            session, probe.id, ProbeSettingsPatch(interval_seconds=300), now=clock.now()
        )
    assert changed.interval_seconds == 300
    assert changed.jitter_ms == scheduler.jitter_ms_for("contoso", "production", "portal", 300)
    assert changed.next_run_at == scheduler.slot_at_or_after(clock.now(), 300, changed.jitter_ms)
    async with session_scope(sessions) as session:
        with pytest.raises(BadRequest):
            await probe_service.update_settings(
                session, probe.id, ProbeSettingsPatch(interval_seconds=10), now=clock.now()
            )
        with pytest.raises(NotFound):
            await probe_service.update_settings(
                session, 999, ProbeSettingsPatch(timeout_seconds=2), now=clock.now()
            )
    assert (await listed(sessions))["contoso/production/portal"].interval_seconds == 300


async def test_remove_only_explicit_probes(sessions: Sessions, clock: FrozenClock) -> None:
    await put(sessions, clock, operator_id="contoso", monitoringIccid=ICCID)
    await sync(sessions, clock)
    async with session_scope(sessions) as session:
        micro = await probe_service.add_probe(
            session,
            operator_id="contoso",
            environment="production",
            kind="microbalance",
            settings=ProbeSettings(),
            now=clock.now(),
        )
    portal = (await listed(sessions))["contoso/production/portal"]
    async with session_scope(sessions) as session:
        with pytest.raises(BadRequest):
            await probe_service.remove_probe(session, portal.id, now=clock.now())
        removed = await probe_service.remove_probe(session, micro.id, now=clock.now())
    assert not removed.enabled
    assert (await listed(sessions))["contoso/production/portal"].enabled
