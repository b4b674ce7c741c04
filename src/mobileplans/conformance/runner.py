"""Selecting and running cases; the run's record (what the three report formats show)."""

from __future__ import annotations

import fnmatch
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobileplans.conformance import (
    KIT_VERSION,
    cases_balance,
    cases_device,
    cases_portal,
    cases_tls,
    cases_transaction,
)
from mobileplans.conformance.case import (
    Case,
    CaseAborted,
    CaseContext,
    CaseResult,
    CaseSkipped,
    Outcome,
)
from mobileplans.conformance.target import Target
from mobileplans.conformance.wire import Wire

ALL_CASES: list[Case] = [
    *cases_balance.CASES,
    *cases_transaction.CASES,
    *cases_tls.CASES,
    *cases_portal.CASES,
    *cases_device.CASES,
]


class UnknownCase(ValueError):
    """``--only`` names no case."""


def select(pattern: str | None, cases: list[Case] | None = None) -> list[Case]:
    """Cases whose id matches one of the comma-separated ids or globs (any case)."""
    pool = cases if cases is not None else ALL_CASES
    if not pattern:
        return list(pool)
    chosen: list[Case] = []
    for part in (p.strip().upper() for p in pattern.split(",")):
        if not part:
            continue
        matched = [c for c in pool if fnmatch.fnmatchcase(c.id, part)]
        if not matched:
            raise UnknownCase(
                f"unknown case id {part!r} in --only; 'mobileplans conformance cases' lists them"
            )
        chosen += [c for c in matched if c not in chosen]
    return [c for c in pool if c in chosen]


@dataclass
class RunReport:
    target: dict[str, Any]
    results: list[CaseResult] = field(default_factory=list)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished: str = ""
    kind: str = "conformance-run"
    kit_version: str = KIT_VERSION
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def mandatory_failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.mandatory and r.outcome is Outcome.FAIL]

    @property
    def passed(self) -> bool:
        return not self.mandatory_failures

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        for result in self.results:
            out[result.outcome.value] += 1
        return out

    def wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kitVersion": self.kit_version,
            "target": self.target,
            "options": self.options,
            "evidence": evidence_of(self.target, self.options),
            "startedAt": self.started,
            "finishedAt": self.finished,
            "verdict": "pass" if self.passed else "fail",
            "counts": self.counts(),
            "mandatoryFailures": [r.id for r in self.mandatory_failures],
            "cases": [r.wire() for r in self.results],
        }


def evidence_of(target: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Who and what a report is evidence for, so the onboarding domain can file it later."""
    return {
        "operator": target.get("operator"),
        "environment": target.get("environment"),
        "source": options.get("source", "target-file"),
    }


async def run_case(case: Case, target: Target, wire: Wire, extras: dict[str, Any]) -> CaseResult:
    result = CaseResult(case.id, case.title, case.spec, case.mandatory)
    start = time.perf_counter()
    reason = case.needs(target)
    if reason is not None:
        result.outcome, result.detail = Outcome.SKIP, reason
        return result
    ctx = CaseContext(target, wire, result, extras)
    try:
        await case.run(ctx)
    except CaseAborted:
        pass
    except CaseSkipped as exc:
        result.outcome = Outcome.SKIP
        ctx.note(str(exc))
    except Exception as exc:  # a case reports, it never stops the run
        ctx.fail(None, "the case to finish", got=f"kit error {type(exc).__name__}: {exc}")
    result.ms = (time.perf_counter() - start) * 1000.0
    return result


async def run_cases(
    target: Target,
    cases: list[Case],
    *,
    on_done: Callable[[CaseResult], None] | None = None,
    browser: bool = False,
    http_timeout: float = 15.0,
    source: str = "target-file",
) -> RunReport:
    report = RunReport(target=target.summary(), options={"browser": browser, "source": source})
    with tempfile.TemporaryDirectory(prefix="mp-conformance-") as directory:
        wire = Wire(target, Path(directory), timeout=http_timeout)
        try:
            for case in cases:
                result = await run_case(case, target, wire, {"browser": browser})
                report.results.append(result)
                if on_done is not None:
                    on_done(result)
        finally:
            await wire.close()
    report.finished = datetime.now(UTC).isoformat()
    return report
