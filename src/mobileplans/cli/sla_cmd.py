"""``mobileplans sla``: SLA statements, issuing, verification, burn rates, rollups;
``mobileplans traffic``: failure percentages of real traffic (issue #4)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.runtime import load_settings, run, run_with_database
from mobileplans.config import Environment
from mobileplans.db.session import session_scope
from mobileplans.domains.sla import burnrate, issuance, render, service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.traffic import service as traffic_service
from mobileplans.kit.clock import SystemClock

T = TypeVar("T")
app = typer.Typer(
    help="SLA statements per operator, endpoint and period; burn rates; rollups.",
    no_args_is_help=True,
)
traffic_app = typer.Typer(help="Failure percentages of real traffic.", no_args_is_help=True)
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Data directory")
]
OperatorOption = Annotated[str, typer.Option("--operator", help="Operator id (e.g. contoso)")]
PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="YYYY-MM (calendar month) or YYYY-MM-DD, operator's zone"),
]
FromOption = Annotated[str | None, typer.Option("--from", help="Custom range start")]
ToOption = Annotated[str | None, typer.Option("--to", help="Custom range end (exclusive)")]
KindOption = Annotated[
    str | None, typer.Option("--kind", help="portal, getbalance or microbalance (default all)")
]
EnvOption = Annotated[Environment, typer.Option("--environment", help="Probe environment")]


def _check_range(period: str | None, start: str | None, end: str | None, *, needed: str) -> None:
    """Usage errors name the options (exit 2). ``needed``: the command that needs a period
    ("" when the current month is the default)."""
    if period and (start or end):
        raise typer.BadParameter("give --period or --from/--to, not both", param_hint="--period")
    if bool(start) != bool(end):
        raise typer.BadParameter("give both --from and --to", param_hint="--from/--to")
    if needed and not (period or start):
        raise typer.BadParameter(
            f"{needed} needs a closed period: --period YYYY-MM or YYYY-MM-DD, or --from and --to",
            param_hint="--period",
        )


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


@app.command()
def report(
    operator: Annotated[
        str | None, typer.Option("--operator", help="Operator id; every operator when absent")
    ] = None,
    period: PeriodOption = None,
    start: FromOption = None,
    end: ToOption = None,
    kind: KindOption = None,
    environment: EnvOption = Environment.PRODUCTION,
    fmt: Annotated[
        render.Format, typer.Option("--format", help="table, json, csv or html")
    ] = "table",
    issue: Annotated[
        bool, typer.Option("--issue", help="Also freeze the statements (closed periods only)")
    ] = False,
    output: Annotated[Path | None, typer.Option("--output", help="Write to a file")] = None,
    data_dir: DataDir = None,
) -> None:
    """SLA statements: probes, availability, latency avg/p50/p95/p99, downtime, budget.

    Without --period or --from/--to: the current month of each operator's time zone, in
    progress (its figures cover the elapsed part, and the report says when it was generated).
    """
    if issue and operator is None:
        raise typer.BadParameter("--issue needs --operator", param_hint="--issue")
    _check_range(period, start, end, needed="--issue" if issue else "")
    query = {"period": period, "start": start, "end": end, "kind": kind}
    now = SystemClock().now()

    async def action(session: AsyncSession) -> str:
        env = environment.value
        if operator is None:
            every = await service.report_all(
                session, environment=env, now=now, period=period, start=start, end=end, kind=kind
            )
            return render.render(every, fmt)
        result = await service.report(
            session, operator_id=operator, environment=env, now=now, **query
        )
        if issue:
            await _issue(session, operator, env, query)
        return render.render(result, fmt)

    text = run(data_dir, action)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        errors.print(f"wrote {output}")


async def _issue(
    session: AsyncSession, operator: str, environment: str, query: dict[str, str | None]
) -> None:
    issued = await issuance.issue(
        session,
        operator_id=operator,
        environment=environment,
        now=SystemClock().now(),
        policy=SlaPolicy(),
        **query,
    )
    for item in issued:
        state = "already issued" if item.already_issued else "issued"
        errors.print(f"{state}: statement {item.id} digest {item.evidence.digest}")


@app.command("issue")
def issue_cmd(
    operator: OperatorOption,
    period: PeriodOption = None,
    start: FromOption = None,
    end: ToOption = None,
    kind: KindOption = None,
    environment: EnvOption = Environment.PRODUCTION,
    data_dir: DataDir = None,
) -> None:
    """Freeze the statements of a closed period (idempotent); prints them as JSON."""
    _check_range(period, start, end, needed="sla issue")

    async def action(session: AsyncSession) -> str:
        issued = await issuance.issue(
            session,
            operator_id=operator,
            environment=environment.value,
            kind=kind,
            period=period,
            start=start,
            end=end,
            now=SystemClock().now(),
            policy=SlaPolicy(),
        )
        return _json([i.model_dump(mode="json", by_alias=True) for i in issued])

    typer.echo(run(data_dir, action))


@app.command()
def verify(
    operator: OperatorOption,
    statement_id: Annotated[int, typer.Argument(help="Issued statement id")],
    data_dir: DataDir = None,
) -> None:
    """Recompute an issued statement from its raw evidence; exit 1 if it does not match."""

    async def action(session: AsyncSession) -> str:
        check = await issuance.verify(session, operator, statement_id)
        if not check.reproducible:
            errors.print("[red]the statement is not reproducible from its evidence[/red]")
        return _json(check.model_dump(mode="json", by_alias=True))

    text = run(data_dir, action)
    typer.echo(text)
    if '"reproducible": false' in text:
        raise typer.Exit(1)


@app.command()
def burn(
    operator: Annotated[str | None, typer.Option("--operator", help="Operator id")] = None,
    data_dir: DataDir = None,
) -> None:
    """Burn rates per probe (1 h/5 min 14.4x, 6 h/30 min 6x, 3 d/6 h 1x) and firing alerts."""

    async def action(session: AsyncSession) -> str:
        result = await burnrate.burn_rates(
            session, now=SystemClock().now(), policy=SlaPolicy(), operator_id=operator
        )
        return _json(result.model_dump(mode="json", by_alias=True))

    typer.echo(run(data_dir, action))


@app.command()
def rollup(
    rebuild_from: Annotated[
        datetime | None,
        typer.Option("--rebuild-from", formats=["%Y-%m-%d"], help="Rebuild from this UTC day"),
    ] = None,
    rebuild_to: Annotated[
        datetime | None,
        typer.Option("--rebuild-to", formats=["%Y-%m-%d"], help="... to this UTC day (excl.)"),
    ] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Rebuild one operator")] = None,
    data_dir: DataDir = None,
) -> None:
    """Roll up new results now (the worker does it every 15 s), or rebuild whole UTC days
    of hour and day rollups from raw results (repairs; see docs/monitoring.md)."""
    if (rebuild_from is None) != (rebuild_to is None):
        raise typer.BadParameter("give both --rebuild-from and --rebuild-to")
    policy = SlaPolicy()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> str:
        if rebuild_from is not None and rebuild_to is not None:
            async with session_scope(sessions) as session:
                read = await service.rebuild_rollups(
                    session,
                    operator_id=operator,
                    start=rebuild_from.replace(tzinfo=UTC),
                    end=rebuild_to.replace(tzinfo=UTC),
                    now=SystemClock().now(),
                )
            return f"rebuilt hour and day rollups from {read} results"
        total = 0
        for _ in range(1_000_000):
            async with session_scope(sessions) as session:
                done = await service.roll_up(session, now=SystemClock().now(), policy=policy)
            total += done
            if done < policy.rollup_batch_rows:
                break
        return f"rolled up {total} results"

    errors.print(run_with_database(load_settings(data_dir), work))


@traffic_app.command()
def failures(
    window: Annotated[int, typer.Option("--window", help="Seconds (10 to 604800)")] = 300,
    environment: Annotated[
        Environment | None, typer.Option("--environment", help="Only this environment")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    data_dir: DataDir = None,
) -> None:
    """Partner and global failure % of real traffic over a rolling window, with counts."""

    async def action(session: AsyncSession) -> str:
        result = await traffic_service.failure_percentages(
            session,
            now=SystemClock().now(),
            window=window,
            environment=environment.value if environment else None,
        )
        if fmt == "json":
            return _json(result.model_dump(mode="json", by_alias=True))
        lines = [f"{'partner':<24}{'requests':>10}{'failures':>10}{'failure %':>11}"]
        rows = [("(global)", result.global_traffic)] + [(p.operator_id, p) for p in result.partners]
        for name, counts in rows:
            share = "-" if counts.failure_percent is None else f"{counts.failure_percent:.3f}"
            lines.append(f"{name:<24}{counts.requests:>10}{counts.failures:>10}{share:>11}")
        return "\n".join(lines)

    if fmt not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    typer.echo(run(data_dir, action))
