"""Detection thresholds of spec 5.3 with 7.2 #31's resolution, per policy."""

from __future__ import annotations

import pytest

from mobileplans.domains.incident.assess import (
    EndpointHealth,
    ScopeEvidence,
    Thresholds,
    TrafficShare,
    assess,
    assess_global,
)
from mobileplans.domains.incident.policies import DATA_MARKETPLACE, DYNAMO, MOBILE_PLANS

T = Thresholds()


def endpoint(
    kind: str = "getbalance", *, row: int = 0, results: int = 10, failures: int = 0
) -> EndpointHealth:
    return EndpointHealth(1, kind, 30, row, results, failures)


def scope(*endpoints: EndpointHealth, traffic: TrafficShare | None = None) -> ScopeEvidence:
    return ScopeEvidence("contoso", "production", endpoints, traffic)


@pytest.mark.parametrize(
    ("failures", "severity"),
    [(10, "sev1"), (8, "sev2"), (7.5, "sev2"), (7, "sev3"), (2.5, "sev3"), (2, None), (0, None)],
)
def test_mobile_plans_partner_thresholds(failures: float, severity: str | None) -> None:
    # 40 results so that 7.5 failures can be expressed as 30 of 40 (75 %).
    health = endpoint(results=40, failures=int(failures * 4))
    assert assess(MOBILE_PLANS, scope(health), T).severity == severity


def test_two_failures_in_a_row_are_a_hard_down() -> None:
    assert assess(MOBILE_PLANS, scope(endpoint(row=1, failures=1)), T).severity is None
    result = assess(MOBILE_PLANS, scope(endpoint(row=2, failures=2)), T)
    assert result.severity == "sev1"
    assert result.partner_failure_percent == 100.0


def test_worst_endpoint_decides_not_the_average() -> None:
    portal, balance = endpoint("portal"), endpoint("getbalance", row=3, failures=3)
    assert assess(MOBILE_PLANS, scope(portal, balance), T).severity == "sev1"


def test_twelve_consecutive_getbalance_failures_are_at_least_sev3() -> None:
    lenient = Thresholds(confirm_failures=50)
    slow_probe = EndpointHealth(1, "getbalance", 300, 12, 1, 1)  # one xPing per 5 minutes
    assert assess(MOBILE_PLANS, scope(slow_probe), lenient).severity == "sev1"  # 1 of 1 in window
    quiet = EndpointHealth(1, "getbalance", 300, 12, 0, 0)
    assert assess(MOBILE_PLANS, scope(quiet), lenient).severity == "sev3"
    portal = EndpointHealth(1, "portal", 300, 12, 0, 0)
    assert assess(MOBILE_PLANS, scope(portal), lenient).severity is None


def test_traffic_counts_only_with_enough_requests() -> None:
    assert assess(MOBILE_PLANS, scope(endpoint(), traffic=TrafficShare(19, 19)), T).severity is None
    assert (
        assess(MOBILE_PLANS, scope(endpoint(), traffic=TrafficShare(20, 16)), T).severity == "sev2"
    )


@pytest.mark.parametrize("policy", [DYNAMO, DATA_MARKETPLACE])
def test_two_level_policies_need_more_than_thirty_minutes(policy: object) -> None:
    assert assess(policy, scope(endpoint(row=60)), T).severity is None  # type: ignore[arg-type]
    result = assess(policy, scope(endpoint("microbalance", row=61)), T)  # type: ignore[arg-type]
    assert result.severity == "high"
    assert "30.5 min" in result.reasons[0]


@pytest.mark.parametrize(
    ("failing", "probed", "traffic", "severity"),
    [
        (3, 5, None, "sev1"),
        (2, 2, None, None),
        (3, 7, None, None),
        (0, 10, TrafficShare(100, 6), "sev1"),
        (0, 10, TrafficShare(200, 10), "sev2"),
        (0, 10, TrafficShare(200, 1), None),
        (0, 10, TrafficShare(50, 10), None),
    ],
)
def test_global_thresholds(
    failing: int, probed: int, traffic: TrafficShare | None, severity: str | None
) -> None:
    assert assess_global(failing, probed, traffic, T).severity == severity


def test_one_failure_right_after_a_start_is_not_a_quarter_of_the_window() -> None:
    # Two results so far, one failed: 1 of the 10 a 5-minute window holds at 30 s, not 50 %.
    fresh = EndpointHealth(1, "portal", 30, 1, 2, 1)
    assert fresh.failure_percent(2, 300) == 10.0
    assert assess(MOBILE_PLANS, scope(fresh), T).severity is None
    three = EndpointHealth(1, "portal", 30, 1, 4, 3)  # three failures in the first two minutes
    assert assess(MOBILE_PLANS, scope(three), T).severity == "sev3"
