"""The evidence rules: what the system must see before a milestone completes itself.

Each rule answers a :class:`Finding` from the registry, the filed conformance reports, the
probes, incidents and bugs of the operator. Go/No-Go evaluates the same rules live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import OnboardingEvidence
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.bug import service as bug_service
from mobileplans.domains.bug.schemas import BugStatus
from mobileplans.domains.incident import service as incident_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec, Severity
from mobileplans.domains.probe import service as probe_service

RUN, LOAD = "conformance-run", "conformance-load"
BLOCKING_SEVERITIES = frozenset({"sev1", "sev2", "high"})
"""Outstanding issues (spec 4.5 "all outstanding issues are closed"): an open incident of
these severities, or a bug not yet deployed nor rejected, keeps the milestone open."""
GREEN = frozenset({"ok", "degraded"})
SEVERITY_SETS = (
    frozenset({Severity.SEV1, Severity.SEV2, Severity.SEV3}),
    frozenset({Severity.HIGH, Severity.LOW}),
)


@dataclass(frozen=True)
class Finding:
    met: bool
    summary: str
    evidence: dict[str, Any] | None = None
    at: datetime | None = None


@dataclass
class Facts:
    """What the rules read, gathered once per evaluation."""

    operator: OperatorSpec
    reports: Sequence[OnboardingEvidence]
    session: AsyncSession
    cache: dict[str, Any] = field(default_factory=dict)


def run_id(row: OnboardingEvidence) -> str:
    return f"{row.kind}#{row.id}"


def evidence_of(row: OnboardingEvidence, summary: str) -> dict[str, Any]:
    return {
        "runId": run_id(row),
        "at": row.finished_at.isoformat(),
        "verdict": row.verdict,
        "environment": row.environment,
        "sha256": row.sha256,
        "summary": summary,
    }


def _latest(facts: Facts, kind: str, environment: str | None) -> list[OnboardingEvidence]:
    rows = [
        r
        for r in facts.reports
        if r.kind == kind and (environment is None or r.environment == environment)
    ]
    return sorted(rows, key=lambda r: (r.finished_at, r.id), reverse=True)


def _cases(row: OnboardingEvidence, prefix: str) -> dict[str, str]:
    outcomes: dict[str, str] = row.outcomes.get("cases", {})
    return {k: v for k, v in outcomes.items() if k.startswith(prefix)}


def _cases_rule(prefix: str, environment: str, needed: str, what: str) -> Callable[..., Any]:
    async def rule(facts: Facts) -> Finding:
        rows = _latest(facts, RUN, environment)
        for row in rows:
            cases = _cases(row, prefix)
            failed = sorted(k for k, v in cases.items() if v == "fail")
            if cases.get(needed) == "pass" and not failed:
                passed = sum(1 for v in cases.values() if v == "pass")
                summary = f"{passed} {what} cases passed ({environment})"
                return Finding(True, summary, evidence_of(row, summary), row.finished_at)
        if rows:
            latest = _cases(rows[0], prefix)
            failed = sorted(k for k, v in latest.items() if v == "fail")
            reason = f"failed: {', '.join(failed)}" if failed else f"{needed} did not pass"
            return Finding(False, f"{run_id(rows[0])} {reason}")
        return Finding(False, f"no conformance run against {environment} filed")

    return rule


async def _service_configuration(facts: Facts) -> Finding:
    op = facts.operator
    staging = op.environments.get("staging")  # type: ignore[call-overload]
    missing = []
    if staging is None:
        missing.append("staging settings")
    elif not staging.mo_base_url:
        missing.append("staging MO API base URL")
    if op.logo is None:
        missing.append("logo")
    severities = {c.severity for c in op.contacts}
    if Severity.ANY not in severities and not any(s <= severities for s in SEVERITY_SETS):
        missing.append("contacts for every severity")
    if op.monitoring_iccid is None:
        missing.append("monitoring ICCID")
    if missing:
        return Finding(False, "missing: " + ", ".join(missing))
    summary = "staging portal and MO API, logo, contacts, monitoring ICCID configured"
    return Finding(True, summary, {"source": "registry", "summary": summary})


async def _load_test(facts: Facts) -> Finding:
    rows = _latest(facts, LOAD, None)
    for row in rows:
        if row.verdict == "pass":
            summary = f"load test passed ({row.environment})"
            return Finding(True, summary, evidence_of(row, summary), row.finished_at)
    if rows:
        return Finding(False, f"{run_id(rows[0])} failed its criteria")
    return Finding(False, "no load report filed")


async def _monitoring(facts: Facts) -> Finding:
    probes = [
        p
        for p in await probe_service.list_probes(facts.session, operator_id=facts.operator.id)
        if p.environment == "production"
    ]
    if not probes:
        return Finding(False, "no production probes")
    bad = [f"{p.kind} {p.last_outcome or 'not run'}" for p in probes]
    bad = [
        b for p, b in zip(probes, bad, strict=True) if not p.enabled or p.last_outcome not in GREEN
    ]
    if bad:
        return Finding(False, "probes not green: " + ", ".join(bad))
    if not facts.operator.contacts:
        return Finding(False, "no escalation contacts")
    last = max((p.last_run_at for p in probes if p.last_run_at), default=None)
    summary = f"{len(probes)} production probes green, {len(facts.operator.contacts)} contacts"
    return Finding(True, summary, {"source": "probes", "summary": summary}, last)


async def _outstanding_issues(facts: Facts) -> Finding:
    operator_id = facts.operator.id
    incidents = await incident_service.list_for(
        facts.session, PLATFORM_ADMIN, operator_id=operator_id, status=None, open_only=True
    )
    blocking = [
        f"incident {i.id} ({i.severity})" for i in incidents if i.severity in BLOCKING_SEVERITIES
    ]
    bugs = await bug_service.list_bugs(facts.session, PLATFORM_ADMIN, operator_id=operator_id)
    closed = {BugStatus.DEPLOYED, BugStatus.REJECTED}
    blocking += [f"bug {b.id} ({b.status.value})" for b in bugs if b.status not in closed]
    if blocking:
        return Finding(False, "open: " + ", ".join(blocking))
    summary = "no open Sev 1/2 or High incident, no open bug"
    return Finding(True, summary, {"source": "incidents and bugs", "summary": summary})


RULES: dict[str, Callable[[Facts], Any]] = {
    "service-configuration": _service_configuration,
    "getbalance-validated": _cases_rule("MOAPI-GB-", "staging", "MOAPI-GB-001", "GetBalance"),
    "e2e-staging": _cases_rule("DEVICE-", "staging", "DEVICE-001", "device scenario"),
    "e2e-production": _cases_rule("DEVICE-", "production", "DEVICE-001", "device scenario"),
    "load-test": _load_test,
    "monitoring": _monitoring,
    "outstanding-issues": _outstanding_issues,
}


async def evaluate(facts: Facts, key: str) -> Finding:
    finding: Finding = await RULES[key](facts)
    return finding
