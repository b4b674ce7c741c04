"""The detection loop: evidence -> assessment -> open, re-grade or auto-resolve incidents.

Run by the worker's ``incidents.evaluate`` job (every 5 s). Per operator and environment
with enabled probes it gathers the evidence of :mod:`assess` and compares it with the open
detected incident of that scope (at most one, by ``open_key``):

- failing and none open: open one at the assessed severity and contact the operator,
  unless a global incident of that environment is open: then the incident is its child
  and the partner is not paged (the global incident explains it);
- failing and one open: re-grade it when the severity changed (raised or lowered);
- healthy and one open: resolve it once every probe of the scope has had
  ``healthyProbesToResolve`` (4) successful runs in a row;
- under announced maintenance (excluded window, spec 5.5): nothing is opened.

Global incidents (per environment) open from :func:`assess.assess_global` and resolve
after two minutes healthy; resolving one pages the partners it had inhibited and which are
still failing.

Cost of a pass (issue #8, 50,000 probes): only scopes that can change anything are read
and assessed: those with a probe failing now or in the window, with failing traffic, or
with an open detected incident. A healthy scope with nothing open assesses to "healthy,
nothing to do", so skipping it changes no outcome; the global quorum's denominator (the
operators probed per environment) is counted only as far as the quorum needs. Failed
results are found through a partial index, so a pass reads the failures, never the
successful bulk.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.db.models import Incident
from mobileplans.domains.incident import clocks, lifecycle, notify, repository
from mobileplans.domains.incident.assess import (
    Assessment,
    EndpointHealth,
    ScopeEvidence,
    Thresholds,
    TrafficShare,
    assess,
    assess_global,
)
from mobileplans.domains.incident.policies import POLICIES
from mobileplans.domains.incident.profiles import OpsProfile, ProfileCache
from mobileplans.domains.incident.schemas import EvaluationSummary, Status
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.schemas import ProbeHealth
from mobileplans.domains.sla import active_windows
from mobileplans.domains.traffic import service as traffic_service

GLOBAL_HEALTHY_FOR = timedelta(minutes=2)
ENVIRONMENTS = tuple(e.value for e in Environment)
# The lowest window failure % any policy acts on: a probe whose failures cannot reach it
# (and that is not failing now) cannot make its scope fail, so the pass does not read it.
LOWEST_PERCENT = min(
    rule.partner_failure_percent
    for policy in POLICIES.values()
    for rule in policy.severities
    if rule.partner_failure_percent is not None
)
Scope = tuple[str, str]


def _endpoints(probes: list[ProbeHealth]) -> dict[Scope, list[EndpointHealth]]:
    scopes: dict[Scope, list[EndpointHealth]] = defaultdict(list)
    for p in probes:
        scopes[(p.operator_id, p.environment)].append(
            EndpointHealth(
                p.id, p.kind, p.interval_seconds, p.consecutive_failures,
                p.window_results, p.window_failures,
            )
        )  # fmt: skip
    return scopes


def _needs_look(endpoints: list[EndpointHealth], traffic: TrafficShare | None) -> bool:
    """Whether a scope with no open incident could be failing (else: nothing to do)."""
    return any(e.consecutive_failures or e.window_failures for e in endpoints) or bool(
        traffic is not None and traffic.failures
    )


async def _traffic(
    session: AsyncSession, environments: set[str], now: datetime, t: Thresholds
) -> tuple[dict[Scope, TrafficShare], dict[str, TrafficShare]]:
    partners: dict[Scope, TrafficShare] = {}
    overall: dict[str, TrafficShare] = {}
    for env in environments:
        counts = await traffic_service.failure_percentages(
            session, now=now, window=t.window_seconds, environment=env
        )
        overall[env] = TrafficShare(counts.global_traffic.requests, counts.global_traffic.failures)
        for p in counts.partners:
            partners[(p.operator_id, env)] = TrafficShare(p.requests, p.failures)
    return partners, overall


KIND_NAMES = {"portal": "Portal", "getbalance": "GetBalance", "microbalance": "MicroBalance"}


def _endpoint_phrase(e: EndpointHealth, t: Thresholds) -> str | None:
    """ "GetBalance failing (40 % of probes in the last 5 min)"; two failures in a row count
    as 100 % (the detection rule), so a hard-down endpoint reads 100 % at once."""
    pct = e.failure_percent(t.confirm_failures, t.window_seconds)
    if pct <= 0:
        return None
    name = KIND_NAMES.get(e.kind, e.kind)
    return f"{name} failing ({pct:g} % of probes in the last {_span(t.window_seconds)})"


def _span(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _title(evidence: ScopeEvidence, t: Thresholds, name: str | None = None) -> str:
    """What a person reads first: who, where, what fails and how much, e.g. "Northwind
    Mobile production: GetBalance failing (40 % of probes in the last 5 min)"."""
    parts = [p for p in (_endpoint_phrase(e, t) for e in evidence.endpoints) if p]
    traffic = evidence.traffic
    if traffic is not None and (traffic.percent or 0) > 0:
        parts.append(
            f"partner traffic failing ({traffic.percent:g} % of {traffic.requests} requests "
            f"in the last {_span(t.window_seconds)})"
        )
    who = name or evidence.operator_id
    return f"{who} {evidence.environment}: " + ("; ".join(parts) or "failing")


def _evidence_json(
    evidence: ScopeEvidence, assessment: Assessment, t: Thresholds
) -> dict[str, object]:
    return {
        "reasons": assessment.reasons,
        "partnerFailurePercent": assessment.partner_failure_percent,
        **evidence.as_json(t),
    }


def _recovered(profile: OpsProfile, evidence: ScopeEvidence, latest: dict[int, list[str]]) -> bool:
    """Every probe of the scope succeeded its last ``healthyProbesToResolve`` runs."""
    count = profile.healthy_probes_to_resolve
    return bool(evidence.endpoints) and all(
        len(runs := latest.get(e.probe_id, [])[:count]) >= count
        and all(o in probe_service.SUCCEEDED for o in runs)
        for e in evidence.endpoints
    )


class Engine:
    def __init__(self, ctx: notify.NotifyContext, thresholds: Thresholds | None = None) -> None:
        self.ctx = ctx
        self.t = thresholds or Thresholds()
        self.profiles = ProfileCache()

    async def evaluate(self, session: AsyncSession, now: datetime) -> EvaluationSummary:
        summary = EvaluationSummary()
        since = now - timedelta(seconds=self.t.window_seconds)
        open_now = {
            i.open_key: i
            for i in await repository.open_incidents(session, source="detected")
            if i.open_key is not None
        }
        environments = await probe_service.environments_probed(session, ENVIRONMENTS)
        traffic, overall = await _traffic(session, environments, now, self.t)
        watched = {i.operator_id for i in open_now.values() if i.operator_id is not None}
        watched |= {op for (op, _), share in traffic.items() if share.failures}
        probes = await probe_service.failing_watch(
            session, since, window_seconds=self.t.window_seconds,
            min_window_percent=LOWEST_PERCENT, also_operators=watched,
        )  # fmt: skip
        profiles = await self.profiles.profiles_of(session, {p.operator_id for p in probes})
        scopes = _endpoints([p for p in probes if p.operator_id in profiles])
        excluded = await active_windows.in_excluded_window(session, now)
        assessed: dict[Scope, tuple[ScopeEvidence, Assessment]] = {}
        for (op, env), endpoints in sorted(scopes.items()):
            key = lifecycle.open_key("partner", op, env, "detected")
            if key not in open_now and not _needs_look(endpoints, traffic.get((op, env))):
                continue
            evidence = ScopeEvidence(op, env, tuple(endpoints), traffic.get((op, env)))
            if active_windows.covers(excluded, op, env):
                summary.suppressed_by_maintenance += 1
                evidence = ScopeEvidence(op, env, (), None)
            assessed[(op, env)] = (evidence, assess(profiles[op].policy, evidence, self.t))
        summary.scopes = len(assessed)
        for env in sorted(environments):
            in_env = [a for (o, e), (_, a) in assessed.items() if e == env]
            failing = sum(1 for a in in_env if a.severity in ("sev1", "sev2", "high"))
            probed = await self._probed(session, env, failing)
            verdict = assess_global(failing, probed, overall.get(env), self.t)
            await self._reconcile_global(session, env, verdict, now, summary, open_now)
        latest = await self._latest_outcomes(session, assessed, profiles, open_now, now)
        for (op, _env), (evidence, assessment) in assessed.items():
            await self._reconcile_partner(
                session, profiles[op], evidence, assessment, now, summary, open_now, latest
            )
        await session.flush()
        return summary

    async def _probed(self, session: AsyncSession, env: str, failing: int) -> int:
        """The quorum's denominator, counted only as far as the quorum needs: with
        ``failing`` partners failing, more than ``failing / quorum`` probed partners means
        no quorum, so the count stops there (exact below it). 0 when no quorum is possible
        (fewer than ``global_min_partners`` failing)."""
        if failing < self.t.global_min_partners:
            return 0
        at_most = int(failing / self.t.global_quorum) + 1
        return await probe_service.operators_probed(session, env, at_most=at_most)

    async def _latest_outcomes(
        self,
        session: AsyncSession,
        assessed: dict[Scope, tuple[ScopeEvidence, Assessment]],
        profiles: dict[str, OpsProfile],
        open_now: dict[str, Incident],
        now: datetime,
    ) -> dict[int, list[str]]:
        """The last runs of every probe of a healthy scope with an open incident (the
        auto-resolve rule), in one query rather than one per probe."""
        probes: dict[int, int] = {}
        count = 0
        for (op, env), (evidence, assessment) in assessed.items():
            key = lifecycle.open_key("partner", op, env, "detected")
            if assessment.severity is None and key in open_now:
                probes.update({e.probe_id: e.interval_seconds for e in evidence.endpoints})
                count = max(count, profiles[op].healthy_probes_to_resolve)
        return await probe_service.latest_outcomes(session, probes, count, now=now)

    async def _reconcile_partner(
        self,
        session: AsyncSession,
        profile: OpsProfile,
        evidence: ScopeEvidence,
        assessment: Assessment,
        now: datetime,
        summary: EvaluationSummary,
        open_now: dict[str, Incident],
        latest: dict[int, list[str]],
    ) -> None:
        key = lifecycle.open_key("partner", evidence.operator_id, evidence.environment, "detected")
        existing = open_now.get(key)
        if assessment.severity is None:
            if existing is not None and _recovered(profile, evidence, latest):
                message = (
                    "auto-resolved: every probe succeeded "
                    f"{profile.healthy_probes_to_resolve} times in a row"
                )
                await lifecycle.resolve(
                    session, self.ctx, existing, now, side="platform", actor="engine",
                    message=message,
                )  # fmt: skip
                summary.resolved.append(existing.id)
            return
        if existing is None:
            parent = open_now.get(
                lifecycle.open_key("global", None, evidence.environment, "detected")
            )
            await self._open_partner(
                session, key, profile, evidence, assessment, now, summary, parent
            )
            return
        existing.evidence, existing.healthy_since = (
            _evidence_json(evidence, assessment, self.t),
            None,
        )
        existing.title = _title(evidence, self.t, profile.display_name)
        reason = "; ".join(assessment.reasons)
        if await lifecycle.change_severity(
            session, self.ctx, existing, assessment.severity, now, side="platform",
            actor="engine", reason=reason,
        ):  # fmt: skip
            summary.changed.append(existing.id)

    async def _open_partner(
        self,
        session: AsyncSession,
        key: str,
        profile: OpsProfile,
        evidence: ScopeEvidence,
        assessment: Assessment,
        now: datetime,
        summary: EvaluationSummary,
        parent: Incident | None,
    ) -> None:
        """Open and page (or hold the page under an open global incident)."""
        incident = Incident(
            open_key=key, scope="partner", operator_id=evidence.operator_id,
            environment=evidence.environment, opened_by="platform", responder="operator",
            source="detected", category="endpoint_failure",
            title=_title(evidence, self.t, profile.display_name),
            policy=profile.policy.name.value, severity=assessment.severity, status=Status.OPEN,
            outage=False, parent_id=parent.id if parent else None,
            evidence=_evidence_json(evidence, assessment, self.t), detected_at=now,
            updated_at=now,
        )  # fmt: skip
        if await lifecycle.create(session, incident, now) is not None:
            await lifecycle.contact(session, self.ctx, incident, now)
            summary.opened.append(incident.id)

    async def _reconcile_global(
        self,
        session: AsyncSession,
        env: str,
        verdict: Assessment,
        now: datetime,
        summary: EvaluationSummary,
        open_now: dict[str, Incident],
    ) -> None:
        key = lifecycle.open_key("global", None, env, "detected")
        existing = open_now.get(key)
        if verdict.severity is not None:
            if existing is None:
                opened = await self._open_global(session, key, env, verdict, now, summary)
                if opened is not None:
                    open_now[key] = opened
            else:
                existing.healthy_since = None
                reason = "; ".join(verdict.reasons)
                if await lifecycle.change_severity(
                    session, self.ctx, existing, verdict.severity, now, side="platform",
                    actor="engine", reason=reason,
                ):  # fmt: skip
                    summary.changed.append(existing.id)
            return
        if existing is None:
            return
        if existing.healthy_since is None:
            existing.healthy_since = now
        elif now - existing.healthy_since >= GLOBAL_HEALTHY_FOR:
            await self._resolve_global(session, existing, now, summary)
            del open_now[key]

    async def _resolve_global(
        self, session: AsyncSession, incident: Incident, now: datetime, summary: EvaluationSummary
    ) -> None:
        """Resolve, then page the partners it held back that are still failing."""
        message = "auto-resolved: global failure below thresholds for 2 minutes"
        await lifecycle.resolve(
            session, self.ctx, incident, now, side="platform", actor="engine", message=message
        )
        summary.resolved.append(incident.id)
        for child in await repository.children(session, incident.id):
            if child.open_key is not None:
                child.parent_id = None
                await lifecycle.contact(session, self.ctx, child, now)

    async def _open_global(
        self,
        session: AsyncSession,
        key: str,
        env: str,
        verdict: Assessment,
        now: datetime,
        summary: EvaluationSummary,
    ) -> Incident | None:
        incident = Incident(
            open_key=key,
            scope="global",
            operator_id=None,
            environment=env,
            opened_by="platform",
            responder="platform",
            source="detected",
            category="global_failure",
            title=f"global {env}: " + "; ".join(verdict.reasons),
            policy="mobile_plans",
            severity=verdict.severity or "sev1",
            status=Status.OPEN,
            outage=True,
            parent_id=None,
            evidence={"reasons": verdict.reasons},
            detected_at=now,
            updated_at=now,
        )
        if await lifecycle.create(session, incident, now) is None:
            return None
        clocks.start_communication(session, incident, "platform", now)
        await lifecycle.contact(session, self.ctx, incident, now)
        summary.opened.append(incident.id)
        return incident
