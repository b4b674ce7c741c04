"""``mobileplans conformance``: the operator conformance kit (issue #9, docs/conformance.md).

``cases`` lists every case; ``run`` runs them against a target (a YAML file, or an
operator of the registry); ``load`` runs the load test of spec 4.2. Exit codes: 0 pass,
1 a mandatory case (or load criterion) failed, 2 unusable arguments (nothing written).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mobileplans.cli.onboarding_cmd import file_over_http
from mobileplans.config import Settings
from mobileplans.conformance.console import (
    cases_table,
    print_failures,
    progress_bar,
    result_table,
)
from mobileplans.conformance.load import (
    LoadInputError,
    LoadRun,
    Sample,
    parse_duration,
    parse_mix,
    read_iccids,
    run_load,
)
from mobileplans.conformance.registry_target import target_from_registry
from mobileplans.conformance.reports import check_writable, write_reports
from mobileplans.conformance.runner import ALL_CASES, UnknownCase, run_cases, select
from mobileplans.conformance.target import Target, TargetError, load_target

app = typer.Typer(
    help=(
        "Operator conformance kit (spec 4.1, 4.2): the MO API, mutual TLS, the portal launch "
        "and the device scenarios against an operator's own systems, with JUnit, HTML and "
        "JSON evidence. docs/conformance.md describes every case and the target file."
    ),
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

TargetOpt = Annotated[Path | None, typer.Option("--target", help="Target file (YAML)")]
OperatorOpt = Annotated[
    str | None, typer.Option("--operator", help="Take the target from the registry instead")
]
EnvironmentOpt = Annotated[
    str, typer.Option("--environment", help="With --operator: staging or production")
]
EndpointsOpt = Annotated[
    Path | None, typer.Option(help="With --operator: endpoints.json (else <data-dir>/…)")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Where up wrote endpoints.json"),
]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here")]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Write the HTML report here")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the JSON evidence here")]


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _target(
    target: Path | None,
    operator: str | None,
    environment: str,
    endpoints: Path | None,
    data_dir: Path | None,
) -> Target:
    if (target is None) == (operator is None):
        raise _fail("give either --target FILE or --operator OP --environment ENV")
    if target is not None:
        return load_target(target)
    assert operator is not None
    path = endpoints or (data_dir or Settings().data_dir) / "endpoints.json"
    return asyncio.run(target_from_registry(path, operator, environment))


def _file_evidence(
    operator: str | None, endpoints: Path | None, data_dir: Path | None, document: dict[str, Any]
) -> None:
    """A run from the registry is filed as onboarding evidence (issue #9; docs/onboarding.md)."""
    if operator is not None:
        path = endpoints or (data_dir or Settings().data_dir) / "endpoints.json"
        console.print(file_over_http(path, operator, document), highlight=False)


def _source(operator: str | None) -> str:
    return "target-file" if operator is None else "registry"


@app.command("cases")
def cases() -> None:
    """List every case: stable id, spec reference, whether it is mandatory."""
    console.print(cases_table(ALL_CASES))


@app.command("run")
def run(
    target: TargetOpt = None,
    operator: OperatorOpt = None,
    environment: EnvironmentOpt = "production",
    endpoints: EndpointsOpt = None,
    data_dir: DataDirOpt = None,
    only: Annotated[
        str | None, typer.Option("--only", help="Case ids or globs, comma-separated (MOAPI-GB-*)")
    ] = None,
    junit: JunitOpt = None,
    html: HtmlOpt = None,
    json_path: JsonOpt = None,
    browser: Annotated[
        bool, typer.Option("--browser", help="Device scenarios in Chromium (else HTTP mode)")
    ] = False,
) -> None:
    """Run the cases against a target; exit 1 when a mandatory case fails."""
    try:
        chosen = select(only)
        check_writable(junit, html, json_path)
        subject = _target(target, operator, environment, endpoints, data_dir)
    except (TargetError, UnknownCase, OSError) as exc:
        raise _fail(str(exc)) from exc
    with progress_bar(console, len(chosen), "conformance") as advance:
        report = asyncio.run(
            run_cases(
                subject,
                chosen,
                on_done=lambda r: advance(f"{r.id} {r.outcome.value}"),
                browser=browser,
                source=_source(operator),
            )
        )
    console.print(result_table(report.results))
    print_failures(console, report.results)
    document = report.wire()
    for path in write_reports(document, junit=junit, html=html, json_path=json_path):
        console.print(f"wrote {path}")
    _file_evidence(operator, endpoints, data_dir, document)
    counts = report.counts()
    verdict = "[green]PASS[/green]" if report.passed else "[bold red]FAIL[/bold red]"
    console.print(
        f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    )
    if not report.passed:
        raise typer.Exit(1)


@app.command("load")
def load(
    iccids: Annotated[
        Path, typer.Option("--iccids", help="ICCIDs, one per line (spec 4.2: 1,000)")
    ],
    target: TargetOpt = None,
    rate: Annotated[float, typer.Option(min=0.01, help="Requests per second")] = 3.0,
    duration: Annotated[str, typer.Option(help="Seconds, or 90s / 5m / 1h")] = "1h",
    mix: Annotated[
        str, typer.Option(help="API weights: getbalance=96,getoffers=2,getnotifications=2")
    ] = "getbalance=100",
    operator: OperatorOpt = None,
    environment: EnvironmentOpt = "production",
    endpoints: EndpointsOpt = None,
    data_dir: DataDirOpt = None,
    junit: JunitOpt = None,
    html: HtmlOpt = None,
    json_path: JsonOpt = None,
) -> None:
    """The load test of spec 4.2 (1,000 ICCIDs, 3 RPS, 1 h; 99.9 % success, 400 ms average)."""
    try:
        seconds = parse_duration(duration)
        numbers = read_iccids(iccids)
        check_writable(junit, html, json_path)
        subject = _target(target, operator, environment, endpoints, data_dir)
        weights = parse_mix(mix, subject)
    except (TargetError, LoadInputError, OSError) as exc:
        raise _fail(str(exc)) from exc
    plan = LoadRun(subject, numbers, rate, seconds, weights, source=_source(operator))
    with progress_bar(console, plan.scheduled, "load") as advance:

        def live(current: LoadRun, _sample: Sample) -> None:
            f = current.figures()
            advance(f"{f['successPercent']:.1f}% ok, avg {f['averageMs']} ms")

        done = asyncio.run(run_load(plan, live=live))
    document = done.wire()
    for key, value in document["figures"].items():
        console.print(f"{key:>15}: {value}", highlight=False)
    for criterion in document["cases"]:
        console.print(
            f"{criterion['id']} {criterion['title']}: {criterion['outcome']} "
            f"— {criterion['detail']}",
            highlight=False,
        )
    for path in write_reports(document, junit=junit, html=html, json_path=json_path):
        console.print(f"wrote {path}")
    _file_evidence(operator, endpoints, data_dir, document)
    if document["verdict"] != "pass":
        console.print("[bold red]FAIL[/bold red]")
        raise typer.Exit(1)
    console.print("[green]PASS[/green]")
