"""``mobileplans e2e``: run the device simulator's end-to-end scenarios against a stack.

The stack is described by ``endpoints.json`` (``mobileplans up`` writes it into its data
directory; for a third-party operator, write one by hand: docs/simulator.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mobileplans.config import Settings
from mobileplans.simulator.endpoints import EndpointsError, load_endpoints
from mobileplans.simulator.report import print_run, print_summary
from mobileplans.simulator.runner import UnknownScenario, run_scenarios, select
from mobileplans.simulator.scenarios import SCENARIOS

ScenarioArg = Annotated[str, typer.Argument(help=f"A scenario or 'all': {', '.join(SCENARIOS)}")]
BrowserOpt = Annotated[
    bool, typer.Option("--browser", help="Drive Chromium through Playwright (else HTTP mode)")
]
BrokerOpt = Annotated[str | None, typer.Option(help="Broker URL (overrides endpoints.json)")]
EndpointsOpt = Annotated[
    Path | None, typer.Option(help="endpoints.json to use (else <data-dir>/endpoints.json)")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="MP_DATA_DIR", help="Where 'mobileplans up' wrote endpoints.json"
    ),
]
OperatorOpt = Annotated[
    str | None, typer.Option(help="Operator id to test (default: the demo's, for its location)")
]


def e2e(
    scenario: ScenarioArg = "all",
    browser: BrowserOpt = False,
    broker: BrokerOpt = None,
    endpoints: EndpointsOpt = None,
    data_dir: DataDirOpt = None,
    operator: OperatorOpt = None,
) -> None:
    """Run end-to-end scenarios as a PC would: providers, portal, callbacks, LPA, flyout.

    Prints a step table per scenario and a summary; exits 1 if any scenario failed,
    2 when the scenario name or endpoints.json is unusable.
    """
    console = Console()
    path = endpoints or (data_dir or Settings().data_dir) / "endpoints.json"
    try:
        chosen = select(scenario)
        stack = load_endpoints(path).with_broker(broker)
        stack.verify()  # a bad CA bundle is an argument error, not a failed scenario
        runs = asyncio.run(run_scenarios(chosen, stack, operator_id=operator, browser=browser))
    except (EndpointsError, UnknownScenario) as exc:
        console.print(f"[bold red]error:[/bold red] {exc}")
        raise typer.Exit(2) from exc
    for run in runs:
        print_run(console, run)
    print_summary(console, runs)
    if any(run.failed for run in runs):
        raise typer.Exit(1)
