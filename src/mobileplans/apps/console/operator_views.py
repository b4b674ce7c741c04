"""What the operator's pages show beyond its overview card, read through the domains'
services only: traffic failure percentages, the SLA months and one month's statements with
their daily series, the onboarding project and its conformance runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.apps.console.views import OperatorRow
from mobileplans.config import Environment
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import gates
from mobileplans.domains.onboarding import service as onboarding_service
from mobileplans.domains.onboarding.schemas import EvidenceDetail, GoNoGoRead, ProjectRead
from mobileplans.domains.sla import service as sla_service
from mobileplans.domains.sla.periods import current_month, floor_to, month_period
from mobileplans.domains.sla.schemas import SlaReport
from mobileplans.domains.sla.service import BucketRead
from mobileplans.domains.traffic import service as traffic_service
from mobileplans.domains.traffic.schemas import TrafficCounts
from mobileplans.errors import BadRequest, NotFound

TRAFFIC_ENVIRONMENT = "production"
TRAFFIC_WINDOWS = (
    ("5 minutes", timedelta(minutes=5)),
    ("1 hour", timedelta(hours=1)),
    ("24 hours", timedelta(days=1)),
)
SLA_MONTHS = 13  # the current month and twelve before it (raw results are kept 400 days)
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class TrafficRow:
    window: str
    counts: TrafficCounts | None  # None: no request of this operator in the window


async def traffic(session: AsyncSession, operator_id: str, now: datetime) -> list[TrafficRow]:
    """The operator's failure percentages of real traffic (spec 5.3, 7.2 #31) over the
    incident engine's 5-minute window and longer ones, production only, counted from its
    own rows."""
    rows = []
    for label, span in TRAFFIC_WINDOWS:
        counts = await traffic_service.partner_failures(
            session, operator_id, now=now, window=span, environment=TRAFFIC_ENVIRONMENT
        )
        rows.append(TrafficRow(label, counts if counts.requests else None))
    return rows


@dataclass(frozen=True)
class SlaMonth:
    label: str  # YYYY-MM
    in_progress: bool


def sla_months(now: datetime, timezone: str) -> list[SlaMonth]:
    """The months with a statement page, newest first, in the operator's time zone."""
    current = current_month(now, timezone)
    year, month = int(current.label[:4]), int(current.label[5:])
    months = []
    for back in range(SLA_MONTHS):
        y, m = divmod((year * 12 + month - 1) - back, 12)
        months.append(SlaMonth(f"{y:04d}-{m + 1:02d}", back == 0))
    return months


def check_month(month: str, now: datetime, timezone: str) -> None:
    """404 for anything but a listed month (a malformed one, one not begun, one too old)."""
    if not MONTH.match(month) or month not in {m.label for m in sla_months(now, timezone)}:
        raise NotFound(f"no SLA statement page for {month!r}")


def probed_environments(row: OperatorRow) -> list[str]:
    """The environments the operator's probes measure, production first."""
    found = {p.environment for p in row.probes}
    return [str(e) for e in reversed(Environment) if e.value in found]


def sla_environment(row: OperatorRow, asked: str | None) -> str:
    """The environment of a statement page: the one asked for, else production when it
    is probed, else the first probed one (an operator in onboarding: staging)."""
    if asked is not None:
        if asked not in {e.value for e in Environment}:
            raise BadRequest("environment is production or staging", field="environment")
        return asked
    probed = probed_environments(row)
    return probed[0] if probed else Environment.PRODUCTION.value


@dataclass
class MonthStatements:
    report: SlaReport
    days: dict[int, list[BucketRead]]  # probe id → one bucket per UTC day of the month
    first_day: datetime


async def month_statements(
    session: AsyncSession,
    operator_id: str,
    environment: str,
    month: str,
    timezone: str,
    now: datetime,
) -> MonthStatements | None:
    """The month's statements (spec 5.2) and, for the plots, each probe's UTC days; None
    when no probe measures ``environment``."""
    try:
        report = await sla_service.report(
            session, operator_id=operator_id, environment=environment, period=month, now=now
        )
    except NotFound:
        return None
    period = month_period(int(month[:4]), int(month[5:]), timezone)
    end = min(period.end, now)
    first = floor_to(period.start, "day")
    count = max(1, -(-int((end - first).total_seconds()) // 86400))
    ids = [item.statement.probe_id for item in report.statements]
    days = await sla_service.probe_buckets(session, ids, end=end, grain="day", count=count)
    whole = -(-int((period.end - first).total_seconds()) // 86400)
    later = [  # the month's days still to come: empty, so the axis spans the month
        BucketRead(first + timedelta(days=d), 0, 0, None, None, None) for d in range(count, whole)
    ]
    return MonthStatements(report, {pid: [*series, *later] for pid, series in days.items()}, first)


@dataclass
class Onboarding:
    project: ProjectRead | None
    gonogo: GoNoGoRead | None


async def onboarding(
    session: AsyncSession, party: Party, operator_id: str, now: datetime
) -> Onboarding:
    """The onboarding project and its Go/No-Go table (none for an operator never tracked)."""
    try:
        project = await onboarding_service.show(session, party, operator_id, now=now)
        return Onboarding(project, await gates.go_no_go(session, party, operator_id, now=now))
    except NotFound:
        return Onboarding(None, None)


def case_rows(run: EvidenceDetail) -> list[dict[str, Any]]:
    """A run's cases, failures first, then by id: from the kept report (title, spec
    section, failures) when the run has one, else from its outcomes alone."""
    order = {"fail": 0, "skip": 1, "pass": 2}
    kept = {c["id"]: c for c in (run.report or {}).get("cases", [])}
    rows = [
        {
            "title": "",
            "spec": "",
            "mandatory": None,
            "detail": "",
            "failures": [],
            **kept.get(case_id, {}),
            "id": case_id,
            "outcome": outcome,
            "mandatory_failure": case_id in run.mandatory_failures,
        }
        for case_id, outcome in run.cases.items()
    ]
    return sorted(rows, key=lambda r: (order.get(r["outcome"], 3), r["id"]))
