"""Step log semantics and the Rich tables printed by ``mobileplans e2e``."""

from __future__ import annotations

import pytest
from rich.console import Console

from mobileplans.simulator.report import print_run, print_summary
from mobileplans.simulator.runlog import (
    Halt,
    Outcome,
    ScenarioAborted,
    ScenarioRun,
    StepError,
)


async def test_steps_pass_fail_softly_skip_and_abort() -> None:
    run = ScenarioRun("demo", "http")
    async with run.step("providers") as step:
        step.note("1 provider")
    async with run.step("callback") as step:
        step.fail("planName is required")
        step.note("still going")
    async with run.step("flyout") as step:
        step.skip("no route yet")

    async def failing() -> None:
        async with run.step("lpa"):
            raise StepError("boom")

    with pytest.raises(ScenarioAborted, match="lpa: boom"):
        await failing()
    assert [s.outcome for s in run.steps] == [
        Outcome.PASS,
        Outcome.FAIL,
        Outcome.SKIP,
        Outcome.FAIL,
    ]
    assert run.steps[1].detail == "planName is required; still going"
    assert all(s.ms >= 0 for s in run.steps)
    assert run.failed
    assert run.outcome is Outcome.FAIL


async def test_a_halt_keeps_the_recorded_outcome_and_unexpected_errors_are_named() -> None:
    run = ScenarioRun("demo", "http")

    async def halting() -> None:
        async with run.step("lpa: install") as step:
            step.note("failed as expected")
            raise Halt()

    with pytest.raises(Halt):
        await halting()
    assert run.steps[0].outcome is Outcome.PASS

    async def crashing() -> None:
        async with run.step("bug"):
            raise KeyError("x")

    with pytest.raises(ScenarioAborted):
        await crashing()
    assert run.steps[1].detail == "KeyError: 'x'"


def test_a_skip_never_hides_a_failure() -> None:
    run = ScenarioRun("demo", "http")
    run.skipped = "no account"
    assert run.outcome is Outcome.SKIP
    run.error = "boom"
    assert run.outcome is Outcome.FAIL


async def test_tables_show_steps_findings_and_summary() -> None:
    run = ScenarioRun("first-run-esim", "http")
    async with run.step("providers") as step:
        step.note("1 provider(s): Contoso Cellular")
    run.finding("plans: horizontal overflow")
    run.finish()
    other = ScenarioRun("cancel", "http", error="portal down")
    console = Console(record=True, width=160)
    print_run(console, run)
    print_summary(console, [run, other])
    text = console.export_text()
    assert "first-run-esim (http mode)" in text
    assert "Contoso Cellular" in text
    assert "horizontal overflow" in text
    assert "1 passed, 0 skipped, 1 failed: cancel" in text
