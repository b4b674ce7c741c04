"""Probe definitions: synced from the operator registry, tuned or added by an operator.

Sync (idempotent; the worker runs it whenever the registry's configuration version moves):

- every operator environment that is enabled gets a ``portal`` probe, and a ``getbalance``
  probe when it has a ``moBaseUrl`` and the operator a ``monitoringIccid`` (spec 5.1);
- a probe whose operator, environment or target disappeared is disabled (its results stay);
  one whose target came back is enabled again on a fresh slot;
- a changed URL is updated in place, keeping the probe's schedule and tuning;
- ``microbalance`` probes are never created by sync (no registry flag marks Data Marketplace
  operators): :func:`add_probe` creates them; sync keeps their URL current and disables
  them when their target disappears, but never re-enables them.

Functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.db.models import Probe
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase, OperatorSpec
from mobileplans.domains.probe import repository
from mobileplans.domains.probe.kinds import KINDS
from mobileplans.domains.probe.scheduler import jitter_ms_for, slot_at_or_after
from mobileplans.domains.probe.schemas import (
    FailureRead,
    ProbeDefinition,
    ProbeHealth,
    ProbeKindName,
    ProbeRead,
    ProbeSettings,
    ProbeSettingsPatch,
    SyncSummary,
)
from mobileplans.errors import BadRequest, NotFound

Key = tuple[str, str, str]


def target_of(operator: OperatorSpec, environment: str, kind: str) -> str | None:
    """The URL ``kind`` probes for this operator environment; None if it has none (now)."""
    try:
        env = Environment(environment)
    except ValueError:
        return None
    settings = operator.environments.get(env)
    if settings is None or not settings.enabled or not _probed(operator, env):
        return None
    return KINDS[kind].target_for(operator, env, settings)


PRODUCTION_PROBED = frozenset({OnboardingPhase.ROLLOUT, OnboardingPhase.LAUNCHED})


def _probed(operator: OperatorSpec, environment: Environment) -> bool:
    """Production probes start with Rollout & Launch, the phase in which "monitoring and
    escalation in place" falls due (issue #9, D147); staging is probed from the start."""
    return environment is not Environment.PRODUCTION or (
        operator.onboarding_phase in PRODUCTION_PROBED
    )


def desired_probes(operators: Iterable[OperatorSpec]) -> list[ProbeDefinition]:
    """The probes the registry implies (the kinds sync creates), in a stable order."""
    wanted = []
    for operator in sorted(operators, key=lambda o: o.id):
        for environment in sorted(operator.environments, key=lambda e: e.value):
            for kind in (k for k in KINDS.values() if k.synced):
                target = target_of(operator, environment.value, kind.name.value)
                if target is not None:
                    wanted.append(
                        ProbeDefinition(operator.id, environment.value, kind.name, target)
                    )
    return wanted


def _schedule(probe: Probe, now: datetime) -> None:
    probe.jitter_ms = jitter_ms_for(
        probe.operator_id, probe.environment, probe.kind, probe.interval_seconds
    )
    probe.next_run_at = slot_at_or_after(now, probe.interval_seconds, probe.jitter_ms)
    probe.lease_owner = None
    probe.lease_expires_at = None


def new_probe(definition: ProbeDefinition, settings: ProbeSettings, now: datetime) -> Probe:
    probe = Probe(
        operator_id=definition.operator_id,
        environment=definition.environment,
        kind=definition.kind.value,
        target_url=definition.target_url,
        interval_seconds=settings.interval_seconds,
        timeout_seconds=settings.timeout_seconds,
        latency_target_ms=settings.latency_target_ms,
        enabled=True,
        consecutive_failures=0,
        created_at=now,
        updated_at=now,
    )
    _schedule(probe, now)
    return probe


@dataclass
class _Tally:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    unchanged: int = 0


def _reconcile(probe: Probe, target: str | None, now: datetime, summary: _Tally) -> None:
    label = f"{probe.operator_id}/{probe.environment}/{probe.kind}"
    if target is None:
        if probe.enabled:
            probe.enabled, probe.lease_owner, probe.lease_expires_at = False, None, None
            probe.updated_at = now
            summary.disabled.append(label)
        else:
            summary.unchanged += 1
        return
    changed = probe.target_url != target
    if changed:
        probe.target_url, probe.updated_at = target, now
    if not probe.enabled and KINDS[probe.kind].synced:
        probe.enabled, probe.consecutive_failures, probe.updated_at = True, 0, now
        _schedule(probe, now)
        summary.enabled.append(label)
    elif changed:
        summary.updated.append(label)
    else:
        summary.unchanged += 1


async def sync_probes(
    session: AsyncSession,
    operators: list[OperatorSpec],
    *,
    now: datetime,
    defaults: ProbeSettings | None = None,
) -> SyncSummary:
    """Make the probes agree with ``operators`` (see the module docstring)."""
    defaults = defaults or ProbeSettings()
    by_id = {op.id: op for op in operators}
    summary = _Tally()
    existing: dict[Key, Probe] = {}
    for probe in await repository.list_probes(session):
        existing[(probe.operator_id, probe.environment, probe.kind)] = probe
        operator = by_id.get(probe.operator_id)
        target = None if operator is None else target_of(operator, probe.environment, probe.kind)
        _reconcile(probe, target, now, summary)
    fresh = [
        new_probe(d, defaults, now)
        for d in desired_probes(operators)
        if (d.operator_id, d.environment, d.kind.value) not in existing
    ]
    repository.add_all(session, fresh)
    summary.created.extend(f"{p.operator_id}/{p.environment}/{p.kind}" for p in fresh)
    await session.flush()
    return SyncSummary(
        created=summary.created,
        updated=summary.updated,
        enabled=summary.enabled,
        disabled=summary.disabled,
        unchanged=summary.unchanged,
    )


async def sync_from_registry(session: AsyncSession, *, now: datetime) -> SyncSummary:
    return await sync_probes(session, await registry_service.list_operators(session), now=now)


async def list_probes(session: AsyncSession, *, operator_id: str | None = None) -> list[ProbeRead]:
    return [
        ProbeRead.model_validate(p, from_attributes=True)
        for p in await repository.list_probes(session, operator_id=operator_id)
    ]


def settings_of(
    interval_seconds: int | None = None,
    timeout_seconds: float | None = None,
    latency_target_ms: float | None = None,
    *,
    base: ProbeSettings | None = None,
) -> ProbeSettings:
    """Validated settings (``BadRequest`` naming the field), unset values from ``base``."""
    values = (base or ProbeSettings()).model_dump()
    given = {
        "interval_seconds": interval_seconds,
        "timeout_seconds": timeout_seconds,
        "latency_target_ms": latency_target_ms,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        return ProbeSettings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        # The one model-level rule (target within timeout) is about the latency target.
        wire = to_camel(name) if name in ProbeSettings.model_fields else "latencyTargetMs"
        raise BadRequest(f"{wire}: {error['msg']}", field=wire) from exc


async def add_probe(
    session: AsyncSession,
    *,
    operator_id: str,
    environment: str,
    kind: str,
    settings: ProbeSettings,
    now: datetime,
) -> ProbeRead:
    """Create (or re-enable and retune) one probe explicitly, its URL from the registry."""
    if kind not in KINDS:
        raise BadRequest(f"unknown probe kind {kind!r}; kinds: {', '.join(KINDS)}", field="kind")
    operator = await registry_service.get_operator(session, operator_id)
    target = target_of(operator, environment, kind)
    if target is None:
        raise BadRequest(
            f"operator {operator_id!r} has no {kind} endpoint in {environment!r} (an enabled "
            "environment, and for MO API probes a moBaseUrl and a monitoringIccid, are needed)",
            field="environment",
        )
    probe = await repository.get_by_key(session, operator_id, environment, kind)
    definition = ProbeDefinition(operator_id, environment, ProbeKindName(kind), target)
    if probe is None:
        probe = new_probe(definition, settings, now)
        repository.add(session, probe)
    else:
        _apply(probe, settings, now)
        probe.target_url, probe.enabled, probe.consecutive_failures = target, True, 0
        _schedule(probe, now)
    await session.flush()
    return ProbeRead.model_validate(probe, from_attributes=True)


def _apply(probe: Probe, settings: ProbeSettings, now: datetime) -> bool:
    """Set the tuning; True if the interval changed (the probe then needs a new grid)."""
    moved = probe.interval_seconds != settings.interval_seconds
    probe.interval_seconds = settings.interval_seconds
    probe.timeout_seconds = settings.timeout_seconds
    probe.latency_target_ms = settings.latency_target_ms
    probe.updated_at = now
    return moved


async def _load(session: AsyncSession, probe_id: int) -> Probe:
    probe = await repository.get(session, probe_id)
    if probe is None:
        raise NotFound(f"probe {probe_id} does not exist", probe=probe_id)
    return probe


async def update_settings(
    session: AsyncSession, probe_id: int, patch: ProbeSettingsPatch, *, now: datetime
) -> ProbeRead:
    """Change a probe's interval (30-300 s), timeout or latency target."""
    probe = await _load(session, probe_id)
    current = ProbeSettings(
        interval_seconds=probe.interval_seconds,
        timeout_seconds=probe.timeout_seconds,
        latency_target_ms=probe.latency_target_ms,
    )
    settings = settings_of(
        patch.interval_seconds, patch.timeout_seconds, patch.latency_target_ms, base=current
    )
    if _apply(probe, settings, now) and probe.enabled:
        _schedule(probe, now)
    await session.flush()
    return ProbeRead.model_validate(probe, from_attributes=True)


async def remove_probe(session: AsyncSession, probe_id: int, *, now: datetime) -> ProbeRead:
    """Disable an explicitly added probe (its results stay). Synced kinds follow the registry."""
    probe = await _load(session, probe_id)
    if KINDS[probe.kind].synced:
        raise BadRequest(
            f"{probe.kind} probes follow the operator registry: disable the environment there",
            field="probe",
        )
    probe.enabled, probe.lease_owner, probe.lease_expires_at = False, None, None
    probe.updated_at = now
    await session.flush()
    return ProbeRead.model_validate(probe, from_attributes=True)


async def add_definitions(
    session: AsyncSession,
    definitions: Iterable[ProbeDefinition],
    *,
    settings: ProbeSettings,
    now: datetime,
) -> int:
    """Create probes for ``definitions`` not yet present (bulk: benchmarks, fixtures)."""
    existing = {
        (p.operator_id, p.environment, p.kind) for p in await repository.list_probes(session)
    }
    fresh = [
        new_probe(d, settings, now)
        for d in definitions
        if (d.operator_id, d.environment, d.kind.value) not in existing
    ]
    repository.add_all(session, fresh)
    await session.flush()
    return len(fresh)


def _may_reach(row: Any, failures: int, window_seconds: int, percent: float) -> bool:
    """Whether this probe's window failure share can reach ``percent``: its share is at
    most failures / (window / interval), the results the window should hold."""
    expected = max(window_seconds // max(int(row.interval_seconds), 1), 1)
    return 100.0 * failures / expected >= percent


async def failing_watch(
    session: AsyncSession,
    since: datetime,
    *,
    window_seconds: int,
    min_window_percent: float,
    also_operators: Iterable[str] = (),
) -> list[ProbeHealth]:
    """Every enabled probe of the operators with a probe failing now (its last run failed)
    or whose failures since ``since`` can reach ``min_window_percent`` of the window, or
    named in ``also_operators``, with its window counts (results and failures; 0 and 0
    without a failure).

    Probes of other operators are not read: the cost follows what fails, not the number
    of probes (the incident engine runs this every 5 s at 50,000 probes, issue #8)."""
    failed = await repository.failing_in_window(session, since)
    operators = set(also_operators)
    operators |= {r.operator_id for r in await repository.failing_now(session)}
    for r in await repository.states_by_id(session, list(failed)):
        if _may_reach(r, failed[int(r.id)][1], window_seconds, min_window_percent):
            operators.add(r.operator_id)
    rows = await repository.states_of(session, sorted(operators))
    totals = await repository.totals_in_window(
        session, since, [int(r.id) for r in rows if int(r.id) in failed]
    )
    health = []
    for r in rows:
        pid = int(r.id)
        failures = failed[pid][1] if pid in failed else 0
        health.append(
            ProbeHealth(
                pid, r.operator_id, r.environment, r.kind, int(r.interval_seconds),
                int(r.consecutive_failures), totals.get(pid, failures) if failures else 0,
                failures,
            )
        )  # fmt: skip
    return health


async def environments_probed(session: AsyncSession, environments: Iterable[str]) -> set[str]:
    """Those of ``environments`` with an enabled probe."""
    return {env for env in environments if await repository.has_enabled(session, env)}


async def operators_probed(session: AsyncSession, environment: str, *, at_most: int) -> int:
    """Operators with an enabled probe in ``environment``; at most ``at_most`` are counted
    (enough to decide a quorum without reading every probe)."""
    return await repository.operators_probed(session, environment, at_most)


SUCCEEDED = ("ok", "degraded")


async def latest_outcomes(
    session: AsyncSession, probes: Mapping[int, int], count: int, *, now: datetime
) -> dict[int, list[str]]:
    """The last ``count`` outcomes of each probe (``{id: interval}``), newest first.

    One query for all of them over the last ``4 × count`` intervals (and 5 min, so workers
    running late still land in it): the newest rows of a probe are the newest overall when
    there are ``count`` of them; a probe with fewer there (no results for a while) is asked
    on its own."""
    if not probes:
        return {}
    since = now - timedelta(seconds=4 * count * max(probes.values()) + 300)
    latest: dict[int, list[str]] = {pid: [] for pid in probes}
    for pid, outcome in await repository.recent_outcomes(session, list(probes), since):
        if len(latest[pid]) < count:
            latest[pid].append(outcome)
    for pid, outcomes in latest.items():
        if len(outcomes) < count:
            latest[pid] = [o for _, o in await repository.latest_outcomes(session, pid, count)]
    return latest


async def healthy_run(session: AsyncSession, probe_id: int, count: int) -> bool:
    """Whether the probe's last ``count`` results all succeeded (ok or degraded)."""
    latest = await repository.latest_outcomes(session, probe_id, count)
    return len(latest) >= count and all(outcome in SUCCEEDED for _, outcome in latest)


async def recent_failures(
    session: AsyncSession, probe_ids: Iterable[int], *, since: datetime, limit: int = 20
) -> list[FailureRead]:
    """The newest failed runs of the probes since ``since``, newest first (console)."""
    ids = list(probe_ids)
    if not ids:
        return []
    rows = await repository.recent_failures(session, ids, since, limit)
    return [
        FailureRead(
            probe_id=int(r.probe_id),
            started_at=r.started_at,
            outcome=str(r.outcome),
            status_code=r.status_code,
            latency_ms=float(r.latency_ms),
            detail=r.detail,
        )
        for r in rows
    ]
