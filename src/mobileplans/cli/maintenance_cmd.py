"""``mobileplans maintenance``: schedule, list and cancel planned maintenance (spec 5.5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.ops_common import (
    AsOperator,
    DataDir,
    JsonFlag,
    console,
    instant,
    party,
    print_json,
    run,
    when,
)
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Environment, Settings
from mobileplans.domains.maintenance_notice import service
from mobileplans.domains.maintenance_notice.schemas import NoticeIn, NoticeRead
from mobileplans.kit.clock import SystemClock

app = typer.Typer(
    help=(
        "Planned maintenance (spec 5.5): at least five business days' notice (the operator's "
        "time zone and public holidays), an announcement to the other side, a reminder before "
        "the start and a completion notice after the end (sent by the worker). Acts as the "
        "platform unless --as-operator is given."
    ),
    no_args_is_help=True,
)


def _status(row: NoticeRead) -> str:
    if row.cancelled_at is not None:
        return "cancelled"
    if row.completion_sent_at is not None:
        return "completed"
    if row.reminder_sent_at is not None:
        return "reminded"
    return "announced"


def _window(row: NoticeRead) -> str:
    """``2026-12-08 01:00-02:00`` (one day) or ``... to 2026-12-09 01:00``; the table
    wraps it at the spaces."""
    start, end = row.starts_at.astimezone(UTC), row.ends_at.astimezone(UTC)
    if start.date() == end.date():
        return f"{when(start)}-{end:%H:%M}"
    return f"{when(start)} to {when(end)}"


def _table(rows: list[NoticeRead]) -> Table:
    table = fitted_table(
        "id",
        "operator",
        "env",
        "side",
        "window (UTC)",
        "notice",
        "status",
        "impact",
        wrap=("impact",),
    )
    for r in rows:
        notice = f"{r.notice_business_days:.1f} bd" + (" LATE" if r.late_notice else "")
        table.add_row(
            str(r.id),
            r.operator_id,
            r.environment or "all",
            r.side,
            _window(r),
            notice,
            _status(r),
            r.impact,
        )
    return table


@app.command()
def schedule(
    starts_at: Annotated[
        str, typer.Option("--starts-at", help="Start, ISO 8601 with offset (2026-11-16T01:00Z)")
    ],
    ends_at: Annotated[str, typer.Option("--ends-at", help="End, ISO 8601 with offset")],
    impact: Annotated[str, typer.Option("--impact", help="What customers may notice")],
    operator: Annotated[
        str | None,
        typer.Option("--operator", help="Operator id (required unless --as-operator)"),
    ] = None,
    environment: Annotated[
        Environment | None,
        typer.Option("--environment", help="staging or production (default: both)"),
    ] = None,
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Schedule maintenance on your side and announce it to the other side.

    Less than five business days' notice is accepted but flagged as late notice: the
    announcement says so and the window stays inside the SLA.
    """
    window = (instant(starts_at, "--starts-at"), instant(ends_at, "--ends-at"))

    async def action(
        session: AsyncSession, settings: Settings
    ) -> tuple[NoticeRead, datetime | None]:
        spec = NoticeIn(
            operator_id=operator,
            environment=environment,
            starts_at=window[0],
            ends_at=window[1],
            impact=impact,
        )
        row = await service.schedule(
            session,
            party(as_operator),
            spec,
            contacts=settings.platform_contacts,
            now=SystemClock().now(),
        )
        if not row.late_notice:
            return row, None
        earliest = await service.earliest_timely_start(session, row.operator_id, row.announced_at)
        return row, earliest

    _print_scheduled(*run(data_dir, action))


def _print_scheduled(row: NoticeRead, earliest: datetime | None) -> None:
    console().print(_table([row]))
    if row.late_notice:
        typer.secho(
            f"late notice: {row.notice_business_days:g} business days (spec 5.5 asks for at "
            f"least 5); the earliest start with five business days' notice is "
            f"{when(earliest)} UTC (--starts-at {earliest:%Y-%m-%dT%H:%MZ})"
            if earliest
            else f"late notice: {row.notice_business_days:g} business days (spec 5.5 asks "
            "for at least 5)",
            err=True,
            fg=typer.colors.YELLOW,
        )


@app.command("list")
def list_cmd(
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only this operator (default: all)")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Overlapping from (ISO 8601 with offset)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Overlapping until")] = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Maintenance windows with their notice in business days and notice status."""
    window = (instant(start, "--from"), instant(end, "--to"))

    async def action(session: AsyncSession, _settings: Settings) -> list[NoticeRead]:
        return await service.list_notices(
            session, party(as_operator), operator_id=operator, start=window[0], end=window[1]
        )

    rows = run(data_dir, action)
    if as_json:
        print_json([r.wire() for r in rows])
    else:
        console().print(_table(rows))


@app.command()
def cancel(
    window_id: Annotated[int, typer.Argument(help="Maintenance window id")],
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Cancel a window that has not started; a cancellation notice goes out."""

    async def action(session: AsyncSession, settings: Settings) -> NoticeRead:
        return await service.cancel(
            session,
            party(as_operator),
            window_id,
            contacts=settings.platform_contacts,
            now=SystemClock().now(),
        )

    row = run(data_dir, action)
    console().print(f"cancelled maintenance window {row.id} of {row.operator_id}")
