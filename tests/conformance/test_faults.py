"""Each fault of the misbehaving operator is caught by the case meant for it, and by no other.

The fixture answers every case correctly without faults (the baseline below), so the
set of failing cases under one fault is exactly what that fault breaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mobileplans.conformance.case import Outcome
from mobileplans.conformance.runner import ALL_CASES, RunReport, run_cases
from mobileplans.conformance.target import Target, parse_target
from tests.conformance.misbehaving import FAULTS, Misbehaving

# fault → the cases that must fail (and no others)
CAUGHT_BY: dict[str, set[str]] = {
    "accepts_missing_certificate": {"MOAPI-TLS-001"},
    "accepts_expired_certificate": {"MOAPI-TLS-002"},
    "subject_not_checked": {"MOAPI-TLS-004"},
    "unknown_sim_200": {"MOAPI-GB-003"},
    "location_not_validated": {"MOAPI-GB-004", "MOAPI-GB-005"},
    "limit_not_validated": {"MOAPI-GB-006", "MOAPI-GB-007"},
    "fields_template_not_validated": {"MOAPI-GB-010"},
    "empty_parameters_400": {"MOAPI-GB-009"},
    "zero_balance_404": {"MOAPI-GB-011"},
    "not_supported_404": {"MOAPI-GB-012"},
    "wrong_casing": {"MOAPI-GB-013"},
    "transaction_id_optional": {"MOAPI-TX-001"},
    "missing_echo": {"MOAPI-TX-002", "MOAPI-TX-003"},
    "echo_unquoted": {"MOAPI-TX-002", "MOAPI-TX-003"},
    "no_echo_on_errors": {"MOAPI-TX-003"},
    "conflict_on_repeat": {"MOAPI-TX-004"},
    "slow": {"MOAPI-LAT-001"},
    "offers_ignore_limit": {"MOAPI-OF-001"},
    "offers_limit_optional": {"MOAPI-OF-002"},
    "notifications_wrong_shape": {"MOAPI-NT-001"},
    "portal_rejects_unknown_parameters": {"PORTAL-002"},
    "portal_error_without_callback": {"PORTAL-003"},
    # Python's ssl cannot accept a certificate of an unknown CA selectively, so the
    # fixture's "accepts an untrusted certificate" is a listener that does no client
    # authentication at all: every mutual-TLS case catches it, nothing else does.
    "no_client_auth": {"MOAPI-TLS-001", "MOAPI-TLS-002", "MOAPI-TLS-003", "MOAPI-TLS-004"},
}
WIRE_CASES = [c for c in ALL_CASES if c.group != "device"]


def test_every_fault_has_its_expected_cases() -> None:
    assert set(CAUGHT_BY) == FAULTS
    ids = {c.id for c in ALL_CASES}
    assert set().union(*CAUGHT_BY.values()) <= ids


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Misbehaving]:
    fixture = Misbehaving(tmp_path_factory.mktemp("misbehaving"))
    with fixture.running():
        yield fixture


def target_of(fixture: Misbehaving) -> Target:
    return parse_target(fixture.target_yaml(), source="target.yaml")


def failing(report: RunReport) -> set[str]:
    return {r.id for r in report.results if r.outcome is Outcome.FAIL}


async def test_the_fixture_without_faults_passes_every_case(operator: Misbehaving) -> None:
    operator.faults.clear()
    report = await run_cases(target_of(operator), WIRE_CASES)
    assert failing(report) == set(), [str(f) for r in report.results for f in r.failures]
    skipped = {r.id for r in report.results if r.outcome is Outcome.SKIP}
    assert skipped == set()
    tls = next(r for r in report.results if r.id == "MOAPI-TLS-003")
    assert "TLS handshake" in tls.detail  # the fixture's listener refuses the kit's CA


@pytest.mark.parametrize("fault", sorted(set(CAUGHT_BY) - {"no_client_auth"}))
async def test_each_fault_is_caught_by_its_case_only(operator: Misbehaving, fault: str) -> None:
    operator.faults.clear()
    operator.faults.add(fault)
    try:
        report = await run_cases(target_of(operator), WIRE_CASES)
    finally:
        operator.faults.clear()
    assert failing(report) == CAUGHT_BY[fault], [str(f) for r in report.results for f in r.failures]
    for result in report.results:
        for failure in result.failures:  # every failure says what was sent, got, expected
            assert failure.sent
            assert failure.got
            assert failure.expected


async def test_a_listener_without_client_authentication(tmp_path: Path) -> None:
    fixture = Misbehaving(tmp_path, faults={"no_client_auth"})
    with fixture.running():
        report = await run_cases(target_of(fixture), WIRE_CASES)
    assert failing(report) == CAUGHT_BY["no_client_auth"]
    untrusted = next(r for r in report.results if r.id == "MOAPI-TLS-003")
    assert untrusted.failures[0].got.startswith("HTTP 200")
    assert "403 or a refused TLS handshake" in untrusted.failures[0].expected


async def test_a_failure_names_request_answer_and_expectation(operator: Misbehaving) -> None:
    operator.faults.add("unknown_sim_200")
    try:
        report = await run_cases(
            target_of(operator), [c for c in WIRE_CASES if c.id == "MOAPI-GB-003"]
        )
    finally:
        operator.faults.clear()
    [failure] = report.results[0].failures
    assert "GET https://127.0.0.1:" in failure.sent
    assert "/sims/iccid:8999999999999999999/balances" in failure.sent
    assert 'X-MS-DM-TransactionId: "MSFT-' in failure.sent
    assert failure.got.startswith("HTTP 200")
    assert failure.expected == "HTTP 404 (4.1.1: invalid SIM)"
    assert not report.passed
