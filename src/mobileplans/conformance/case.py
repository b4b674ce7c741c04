"""What a conformance case is, what it records, and how it fails.

A case sends requests through :class:`~mobileplans.conformance.wire.Wire`, judges each
answer against what the spec expects, and fails with three parts: what was sent, what
came back, what the spec expects. A case that cannot run against this target (an API
the operator does not declare, an ICCID role not given) is ``skip`` with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mobileplans.conformance.target import Target
from mobileplans.conformance.wire import Exchange, Wire


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    SKIP = "skip"


class CaseSkipped(Exception):
    """The case cannot run against this target; the message says why."""


class CaseAborted(Exception):
    """A check failed and the rest of the case depends on it."""


@dataclass
class Failure:
    sent: str
    got: str
    expected: str

    def __str__(self) -> str:
        return f"sent {self.sent}; got {self.got}; expected {self.expected}"

    def wire(self) -> dict[str, str]:
        return {"sent": self.sent, "got": self.got, "expected": self.expected}


@dataclass
class CaseResult:
    id: str
    title: str
    spec: str
    mandatory: bool
    outcome: Outcome = Outcome.PASS
    detail: str = ""
    failures: list[Failure] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    ms: float = 0.0

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "spec": self.spec,
            "mandatory": self.mandatory,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "failures": [f.wire() for f in self.failures],
            "exchanges": [e.wire() for e in self.exchanges],
            "steps": self.steps,
            "ms": round(self.ms, 2),
        }


@dataclass
class CaseContext:
    target: Target
    wire: Wire
    result: CaseResult
    extras: dict[str, Any] = field(default_factory=dict)

    async def get(self, url: str, **kwargs: Any) -> Exchange:
        exchange = await self.wire.request("GET", url, **kwargs)
        self.result.exchanges.append(exchange)
        return exchange

    def fail(self, exchange: Exchange | None, expected: str, *, got: str | None = None) -> None:
        sent = exchange.sent() if exchange is not None else "(nothing)"
        answer = got if got is not None else (exchange.got() if exchange else "(nothing)")
        self.result.failures.append(Failure(sent, answer, expected))
        self.result.outcome = Outcome.FAIL

    def require(self, ok: bool, exchange: Exchange | None, expected: str) -> None:
        """Fail and stop the case unless ``ok``."""
        if not ok:
            self.fail(exchange, expected)
            raise CaseAborted(expected)

    def note(self, text: str) -> None:
        self.result.detail = f"{self.result.detail}; {text}" if self.result.detail else text


Runner = Callable[[CaseContext], Awaitable[None]]
Needs = Callable[[Target], str | None]


def always(_: Target) -> None:
    return None


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    spec: str
    mandatory: bool
    sends: str
    expects: str
    run: Runner
    needs: Needs = always
    group: str = "moapi"
