"""Rich output of the kit: the case list, the progress bar, the result table (80 columns)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mobileplans.conformance.case import Case, CaseResult, Outcome

STYLE = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.SKIP: "yellow"}


def cases_table(cases: list[Case]) -> Table:
    table = Table(title="Conformance cases", expand=False)
    table.add_column("id", no_wrap=True)
    table.add_column("M", justify="center", no_wrap=True)
    table.add_column("spec", max_width=16)
    table.add_column("case")
    for case in cases:
        table.add_row(case.id, "yes" if case.mandatory else "", case.spec, case.title)
    table.caption = "M: mandatory (a failure makes the run fail)"
    return table


def result_table(results: list[CaseResult]) -> Table:
    table = Table(title="Results", expand=False)
    table.add_column("case", no_wrap=True)
    table.add_column("M", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold", max_width=44)
    for result in results:
        outcome = result.outcome
        label = outcome.value if outcome is not Outcome.FAIL or result.mandatory else "warn"
        detail = result.detail
        if result.failures:
            detail = f"expected {result.failures[0].expected}"
        table.add_row(
            result.id,
            "yes" if result.mandatory else "",
            f"[{STYLE[outcome]}]{label}[/]",
            detail[:160],
        )
    return table


def print_failures(console: Console, results: list[CaseResult]) -> None:
    for result in results:
        for failure in result.failures:
            console.print(f"[bold red]{result.id}[/] {result.title}")
            console.print(f"  sent:     {failure.sent}", markup=False, highlight=False)
            console.print(f"  got:      {failure.got}", markup=False, highlight=False)
            console.print(f"  expected: {failure.expected}", markup=False, highlight=False)


@contextmanager
def progress_bar(console: Console, total: int, label: str) -> Iterator[Any]:
    """A progress bar; yields ``advance(text)``."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task(label, total=total)

        def advance(text: str, steps: float = 1) -> None:
            progress.update(task, advance=steps, description=text[:36])

        yield advance
