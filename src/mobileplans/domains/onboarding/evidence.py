"""Evidence intake: the conformance kit's sealed JSON reports filed for an operator
(decision D144). The milestones a report proves complete themselves on the same call."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.db.models import OnboardingEvidence
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import criteria, repository, timeline
from mobileplans.domains.onboarding.schemas import EvidenceRead
from mobileplans.domains.onboarding.service import evidence_read, load, refresh
from mobileplans.errors import BadRequest

KINDS = (criteria.RUN, criteria.LOAD)


def _digest(document: dict[str, Any]) -> str:
    content = {k: v for k, v in document.items() if k != "sha256"}
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _check_report(document: dict[str, Any], operator_id: str) -> tuple[str, str, datetime]:
    """The kind, environment and finish time of a sealed conformance report (400 if not)."""
    kind = document.get("kind")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}", field="kind")
    seal = document.get("sha256")
    if not isinstance(seal, str) or seal != _digest(document):
        raise BadRequest("sha256 does not match the report's content (edited?)", field="sha256")
    block = document.get("evidence") or {}
    if block.get("operator") not in (None, operator_id):
        raise BadRequest(
            f"the report is evidence for {block.get('operator')!r}, not {operator_id!r}",
            field="evidence.operator",
        )
    environment = block.get("environment")
    if environment not in {e.value for e in Environment}:
        raise BadRequest(
            "evidence.environment must be staging or production", field="evidence.environment"
        )
    try:
        finished = datetime.fromisoformat(str(document.get("finishedAt")))
    except ValueError as exc:
        raise BadRequest("finishedAt is not an ISO 8601 instant", field="finishedAt") from exc
    if finished.tzinfo is None:
        raise BadRequest("finishedAt needs an offset", field="finishedAt")
    return str(kind), str(environment), finished


def _case_summary(case: dict[str, Any]) -> dict[str, Any]:
    """A case as the console's run page shows it: its failures (at most 5, texts cut at
    500 characters), not its exchanges (the kit's own files keep those)."""
    failures = [
        {k: str(f.get(k, ""))[:500] for k in ("sent", "got", "expected")}
        for f in (case.get("failures") or [])[:5]
        if isinstance(f, dict)
    ]
    return {
        "id": str(case.get("id")),
        "title": str(case.get("title") or ""),
        "spec": str(case.get("spec") or ""),
        "mandatory": bool(case.get("mandatory")),
        "outcome": str(case.get("outcome")),
        "detail": str(case.get("detail") or "")[:1000],
        "failures": failures,
    }


def report_summary(document: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a filed report beyond its outcomes: kit version, start, the target
    and each case with its title, spec section and failures (decision D206)."""
    target = document.get("target") or {}
    keys = ("operator", "environment", "mo_base_url", "portal_url")
    return {
        "kitVersion": str(document.get("kitVersion") or ""),
        "startedAt": str(document.get("startedAt") or ""),
        "target": {k: str(target[k]) for k in keys if target.get(k) is not None},
        "cases": [_case_summary(c) for c in document.get("cases") or [] if isinstance(c, dict)],
    }


async def file_evidence(
    session: AsyncSession,
    party: Party,
    operator_id: str,
    document: dict[str, Any],
    *,
    now: datetime,
) -> EvidenceRead:
    """File a sealed conformance report (``--json`` of the kit); the same report twice is
    filed once. The milestones it proves complete themselves."""
    project = await load(session, party, operator_id, lock=True)
    kind, environment, finished = _check_report(document, operator_id)
    existing = await repository.evidence_by_digest(session, operator_id, document["sha256"])
    if existing is not None:
        return evidence_read(existing)
    cases = {str(c.get("id")): str(c.get("outcome")) for c in document.get("cases") or []}
    row = OnboardingEvidence(
        operator_id=operator_id,
        kind=kind,
        environment=environment,
        verdict="pass" if document.get("verdict") == "pass" else "fail",
        sha256=document["sha256"],
        finished_at=finished,
        received_at=now,
        actor=party.actor,
        outcomes={
            "cases": cases,
            "mandatoryFailures": document.get("mandatoryFailures") or [],
            "report": report_summary(document),
        },
    )
    await repository.add(session, row)
    message = f"{criteria.run_id(row)} filed ({environment}, {row.verdict})"
    await timeline.note(session, operator_id, "filed", party, message, now=now)
    await refresh(session, project, now=now)
    return evidence_read(row)
