"""Seeds for the operator's console pages: onboarding projects with a filed conformance
run each, GetBalance traffic, incidents and maintenance windows of two operators (the
in-process and the browser tests share them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from mobileplans.config import Settings
from mobileplans.conformance.reports import seal
from mobileplans.db.models import BalanceLookup
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import PLATFORM_ADMIN
from mobileplans.domains.incident import service as incidents
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import DeclareIncident
from mobileplans.domains.maintenance_notice import service as notice_service
from mobileplans.domains.maintenance_notice.schemas import NoticeIn
from mobileplans.domains.onboarding import evidence as intake
from mobileplans.domains.onboarding import service as onboarding_service
from mobileplans.domains.onboarding.schemas import StartIn
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import Sessions


def conformance_report(operator_id: str, cases: dict[str, str], finished: Any) -> dict[str, Any]:
    """A sealed run as ``mobileplans conformance run --json`` writes it (what intake reads)."""
    return seal(
        {
            "kind": "conformance-run",
            "kitVersion": "test",
            "target": {
                "operator": operator_id,
                "mo_base_url": f"https://api.{operator_id}.example/v1",
            },
            "options": {"source": "registry"},
            "evidence": {"operator": operator_id, "environment": "staging", "source": "registry"},
            "startedAt": finished.isoformat(),
            "finishedAt": finished.isoformat(),
            "verdict": "fail" if "fail" in cases.values() else "pass",
            "counts": {},
            "mandatoryFailures": [k for k, v in cases.items() if v == "fail"],
            "cases": [case(k, v) for k, v in cases.items()],
        }
    )


def case(case_id: str, outcome: str) -> dict[str, Any]:
    """A case as the kit's JSON carries it; a failed one with its failure."""
    failures = [{"sent": "GET /balances", "got": "HTTP 500", "expected": "HTTP 200"}]
    return {
        "id": case_id,
        "title": f"title of {case_id}",
        "spec": "4.1",
        "mandatory": True,
        "outcome": outcome,
        "detail": "answered 500" if outcome == "fail" else "",
        "failures": failures if outcome == "fail" else [],
        "exchanges": [{"method": "GET", "url": "https://api.example/v1", "body": "x" * 300}],
        "steps": [],
        "ms": 12.5,
    }


async def onboard_with_runs(sessions: Sessions, clock: FrozenClock) -> dict[str, int]:
    """alpha and bravo in onboarding, each with one filed staging run; their evidence ids."""
    ids = {}
    async with session_scope(sessions) as session:
        for op in ("alpha", "bravo"):
            start = StartIn(start=clock.now().date() - timedelta(days=20))
            await onboarding_service.start(session, PLATFORM_ADMIN, op, start, now=clock.now())
            cases = {"MOAPI-GB-001": "pass", "MOAPI-GB-002": "pass", "DEVICE-001": "fail"}
            report = conformance_report(op, cases, clock.now() - timedelta(minutes=5))
            filed = await intake.file_evidence(session, PLATFORM_ADMIN, op, report, now=clock.now())
            ids[op] = filed.id
    return ids


async def seed_traffic(sessions: Sessions, clock: FrozenClock) -> None:
    """alpha: 8 GetBalance calls in the last 5 minutes, 2 timed out and 1 unknown SIM;
    bravo: 3 timed out (never counted for alpha)."""
    outcomes = [("alpha", "ok", 200)] * 5 + [("alpha", "timeout", None)] * 2
    outcomes += [("alpha", "http_error", 404)] + [("bravo", "timeout", None)] * 3
    rows = [
        {
            "at": clock.now() - timedelta(seconds=10 + i),
            "operator_id": operator_id,
            "environment": "production",
            "iccid": "8901991000000000009",
            "ms_transaction_id": f"t{i}",
            "outcome": outcome,
            "status_code": status,
            "latency_ms": 50.0,
        }
        for i, (operator_id, outcome, status) in enumerate(outcomes)
    ]
    async with session_scope(sessions) as session:
        await session.execute(insert(BalanceLookup), rows)


async def incidents_and_windows(
    sessions: Sessions, clock: FrozenClock
) -> dict[str, dict[str, int]]:
    """An incident declared and a maintenance window announced by the platform for alpha
    and for bravo; ``{"incident": {op: id}, "window": {op: id}}``."""
    ids: dict[str, dict[str, int]] = {"incident": {}, "window": {}}
    context = NotifyContext(list(Settings().platform_contacts))
    async with session_scope(sessions) as session:
        for op in ("alpha", "bravo"):
            declared = DeclareIncident.model_validate(
                {"operatorId": op, "title": f"{op} portal slow", "severity": "sev2"}
            )
            found = await incidents.declare(
                session, context, PLATFORM_ADMIN, declared, now=clock.now()
            )
            ids["incident"][op] = found.id
            starts = clock.now() + timedelta(days=10)
            notice = NoticeIn(
                operator_id=op,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                impact=f"platform work for {op}",
            )
            window = await notice_service.schedule(
                session, PLATFORM_ADMIN, notice, contacts=[], now=clock.now()
            )
            ids["window"][op] = window.id
    return ids
