"""Rich tables of scenario runs: one step table per scenario, then a summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mobileplans.simulator.runlog import Outcome, ScenarioRun

STYLES = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.SKIP: "yellow"}


def _outcome(outcome: Outcome) -> Text:
    return Text(outcome.value, style=STYLES[outcome])


def step_table(run: ScenarioRun) -> Table:
    table = Table(title=f"{run.name} ({run.mode} mode)", title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("step")
    table.add_column("outcome")
    table.add_column("ms", justify="right")
    table.add_column("detail", overflow="fold")
    for number, step in enumerate(run.steps, start=1):
        table.add_row(str(number), step.name, _outcome(step.outcome), f"{step.ms:.0f}", step.detail)
    if run.error:
        table.add_row("", "scenario", _outcome(Outcome.FAIL), "", run.error)
    if run.skipped:
        table.add_row("", "scenario", _outcome(Outcome.SKIP), "", run.skipped)
    for finding in run.findings:
        table.add_row("", "finding", Text("note", style="cyan"), "", finding)
    return table


def summary_table(runs: list[ScenarioRun]) -> Table:
    table = Table(title="summary", title_justify="left")
    table.add_column("scenario")
    table.add_column("mode")
    table.add_column("outcome")
    table.add_column("steps", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("skipped", justify="right")
    table.add_column("findings", justify="right")
    table.add_column("ms", justify="right")
    for run in runs:
        failed = sum(s.outcome is Outcome.FAIL for s in run.steps)
        skipped = sum(s.outcome is Outcome.SKIP for s in run.steps)
        table.add_row(
            run.name,
            run.mode,
            _outcome(run.outcome),
            str(len(run.steps)),
            str(failed),
            str(skipped),
            str(len(run.findings)),
            f"{run.ms:.0f}",
        )
    return table


def print_run(console: Console, run: ScenarioRun) -> None:
    console.print(step_table(run))


def print_summary(console: Console, runs: list[ScenarioRun]) -> None:
    console.print(summary_table(runs))
    failed = [r.name for r in runs if r.failed]
    skipped = [r.name for r in runs if r.outcome is Outcome.SKIP]
    passed = len(runs) - len(failed) - len(skipped)
    line = f"{passed} passed, {len(skipped)} skipped, {len(failed)} failed"
    if failed:
        console.print(f"[bold red]{line}:[/bold red] {', '.join(failed)}")
    else:
        console.print(
            f"[green]{line}[/green]" + (f" (skipped: {', '.join(skipped)})" if skipped else "")
        )
