"""The step log of a scenario run: what happened, how long it took, what went wrong.

A step is an ``async with run.step("name") as step:`` block. It passes unless its body
calls ``step.fail(...)`` (a soft failure: the scenario goes on, e.g. a conformance
violation in callback metadata), ``step.skip(...)`` (a part not there yet), or raises:
then the step fails and the scenario stops (:class:`ScenarioAborted`). Findings are
observations that do not fail a run (horizontal overflow, a non-canonical casing).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    SKIP = "skip"


class StepError(Exception):
    """A step could not do its job; the message is the step's detail."""


class ScenarioAborted(Exception):
    """Raised out of a failed step so the rest of the scenario is not attempted."""


class ScenarioSkipped(Exception):
    """The scenario cannot run against this stack (e.g. no existing account configured)."""


class Halt(Exception):
    """Leaves a step whose body already recorded its outcome, without aborting the run."""


@dataclass
class StepResult:
    name: str
    outcome: Outcome = Outcome.PASS
    ms: float = 0.0
    detail: str = ""

    def fail(self, detail: str) -> None:
        self.outcome = Outcome.FAIL
        self.detail = _join(self.detail, detail)

    def skip(self, reason: str) -> None:
        if self.outcome is not Outcome.FAIL:
            self.outcome = Outcome.SKIP
        self.detail = _join(self.detail, reason)

    def note(self, text: str) -> None:
        self.detail = _join(self.detail, text)


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


@dataclass
class ScenarioRun:
    name: str
    mode: str
    steps: list[StepResult] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    started: float = field(default_factory=time.perf_counter)
    ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None or any(s.outcome is Outcome.FAIL for s in self.steps)

    @property
    def outcome(self) -> Outcome:
        if self.failed:
            return Outcome.FAIL
        return Outcome.SKIP if self.skipped is not None else Outcome.PASS

    def finding(self, text: str) -> None:
        if text not in self.findings:
            self.findings.append(text)

    def step_named(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[StepResult]:
        result = StepResult(name)
        self.steps.append(result)
        start = time.perf_counter()
        try:
            yield result
        except (ScenarioAborted, Halt):
            result.ms = _ms(start)
            raise
        except Exception as exc:
            result.ms = _ms(start)
            message = str(exc) if isinstance(exc, StepError) else f"{type(exc).__name__}: {exc}"
            result.fail(message)
            raise ScenarioAborted(f"{name}: {message}") from exc
        result.ms = _ms(start)

    def finish(self) -> None:
        self.ms = _ms(self.started)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
