"""The plan templates: the schedules of spec 4.4 as data, one per generation.

Phases run in order; the activities of a plan are laid out one after the other from the
start date (estimates in business days of the operator's calendar). ``evidence`` names the
rule of :mod:`mobileplans.domains.onboarding.criteria` that completes the milestone;
``mandatory`` milestones are the launch criteria Go/No-Go refuses to pass without.
"""

from __future__ import annotations

from dataclasses import dataclass

from mobileplans.domains.onboarding.schemas import Kind, Owner, Plan

FEASIBILITY, DEVELOPMENT, INTEGRATION, ROLLOUT, POST_LAUNCH = (
    "feasibility",
    "development",
    "integration",
    "rollout",
    "post-launch",
)
PHASES = (FEASIBILITY, DEVELOPMENT, INTEGRATION, ROLLOUT, POST_LAUNCH)
PHASE_TITLES = {
    FEASIBILITY: "Feasibility",
    DEVELOPMENT: "Development",
    INTEGRATION: "Integration",
    ROLLOUT: "Rollout & Launch",
    POST_LAUNCH: "Post launch",
}
GO, LAUNCH, ACCEPT = "go-no-go", "launch", "acceptance"
MONITORING = "monitoring"

OP, PF, J = Owner.OPERATOR, Owner.PLATFORM, Owner.JOINT
M, E, G = Kind.MANUAL, Kind.EVIDENCE, Kind.GATE


@dataclass(frozen=True)
class Activity:
    key: str
    phase: str
    title: str
    owner: Owner
    days: int
    kind: Kind
    mandatory: bool = False


def _a(
    key: str, phase: str, title: str, owner: Owner, days: int, kind: Kind, mandatory: bool = False
) -> Activity:
    return Activity(key, phase, title, owner, days, kind, mandatory)


_HEAD = (
    _a("assess-scenarios", FEASIBILITY, "Assess scenarios, review the docs", J, 5, M),
    _a("commit", FEASIBILITY, "Commit (checkpoint)", J, 5, M, True),
    _a("service-configuration", DEVELOPMENT, "Service configuration complete", OP, 10, E, True),
    _a("cosa-update", DEVELOPMENT, "COSA update submitted", OP, 10, M),
    _a("code-complete", DEVELOPMENT, "Code complete (checkpoint)", OP, 10, M, True),
    _a("getbalance-validated", INTEGRATION, "GetBalance validated", OP, 5, E, True),
    _a("e2e-staging", INTEGRATION, "E2E functional in staging (checkpoint)", OP, 5, E, True),
)
_TAIL = (
    _a("load-test", ROLLOUT, "Load test passed", J, 5, E, True),
    _a(MONITORING, ROLLOUT, "Monitoring and escalation in place", PF, 5, E, True),
    _a("customer-support", ROLLOUT, "Customer support in place", J, 3, M, True),
    _a("commercial-agreement", ROLLOUT, "Commercial agreement completed", OP, 3, M, True),
    _a("outstanding-issues", ROLLOUT, "Outstanding issues reviewed", J, 1, E, True),
    _a(GO, ROLLOUT, "Go/No-Go (final checkpoint)", J, 1, G),
    _a(LAUNCH, ROLLOUT, "Launch", J, 1, G),
    _a(ACCEPT, POST_LAUNCH, "Formal acceptance of the live service", OP, 1, G),
)
_PRODUCTION = (
    _a("e2e-production", INTEGRATION, "E2E functional in production (checkpoint)", OP, 5, E, True),
    _a("test-sign-off", INTEGRATION, "Test sign-off (checkpoint)", PF, 3, M, True),
)
_DYNAMO_PRODUCTION = (
    _a("test-sign-off", INTEGRATION, "MO API production ready (checkpoint)", J, 3, M, True),
    _a("e2e-production", ROLLOUT, "E2E validation on the test SIM range", OP, 5, E, True),
)

PLANS: dict[Plan, tuple[Activity, ...]] = {
    Plan.MOBILE_PLANS: _HEAD + _PRODUCTION + _TAIL,
    Plan.DYNAMO: _HEAD + _DYNAMO_PRODUCTION + _TAIL,
    Plan.DATA_MARKETPLACE: _HEAD + _PRODUCTION + _TAIL,
}
