"""What the console's pages show, read through the domains' services only (never their
repositories): the overview of operators and the platform status page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.access.service import PLATFORM_ADMIN, Party
from mobileplans.domains.incident import service as incident_service
from mobileplans.domains.incident.schemas import IncidentDetail, IncidentRead
from mobileplans.domains.maintenance_notice import service as notice_service
from mobileplans.domains.maintenance_notice.schemas import NoticeRead
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase, OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.schemas import ProbeRead
from mobileplans.domains.sla import service as sla_service
from mobileplans.domains.sla.service import BucketRead

AVAILABILITY_TARGET = 99.9
LATENCY_TARGET_MS = 400.0
PLATFORM_SERVICES = {
    "broker": "Broker",
    "balance": "Balance proxy",
    "catalog": "Catalog",
    "notifications": "Notifications",
}


def probe_state(probe: ProbeRead) -> str:
    """up (last run ok), degraded (answered slower than its target), down (failed), unknown."""
    if not probe.enabled:
        return "disabled"
    if probe.last_outcome is None:
        return "unknown"
    if probe.last_outcome == "ok":
        return "up"
    return "degraded" if probe.last_outcome == "degraded" else "down"


@dataclass
class IncidentRow:
    incident: IncidentRead
    next_clock: str | None = None
    next_due: datetime | None = None


@dataclass
class OperatorRow:
    spec: OperatorSpec
    probes: list[ProbeRead] = field(default_factory=list)
    hours: list[BucketRead] = field(default_factory=list)
    days: list[BucketRead] = field(default_factory=list)
    mtd_availability: float | None = None
    mtd_latency_ms: float | None = None
    incidents: list[IncidentRow] = field(default_factory=list)
    next_maintenance: NoticeRead | None = None
    bars_environment: str = "production"

    @property
    def state(self) -> str:
        states = {probe_state(p) for p in self.probes}
        for worst in ("down", "degraded", "up"):
            if worst in states:
                return worst
        return "unknown"


SORTS = {
    "name": "name",
    "phase": "phase",
    "availability": "availability",
    "incidents": "open incidents",
}
DEFAULT_SORT = "name"
PHASES = [p.value for p in OnboardingPhase]


PAGE_SIZE = 50


@dataclass
class OverviewPage:
    """One page of the overview: its cards, and where it stands among the operators that
    match the filter (``first``/``last``: 1-based positions; 0 when none matches)."""

    rows: list[OperatorRow]
    total: int
    page: int
    pages: int
    first: int
    last: int


def matches(spec: OperatorSpec, q: str) -> bool:
    """The filter: every word of ``q`` is in the operator's id or name (case-insensitive)."""
    text = f"{spec.id} {spec.brand_name}".casefold()
    return all(word in text for word in q.casefold().split())


def order(
    specs: list[OperatorSpec],
    sort: str,
    availability: dict[str, float | None],
    incidents: dict[str, int],
) -> list[OperatorSpec]:
    """The overview's order (``SORTS``); the operator's name breaks ties."""

    def key(spec: OperatorSpec) -> tuple[float | str, ...]:
        name = spec.brand_name.casefold()
        if sort == "phase":
            return (PHASES.index(spec.onboarding_phase.value), name)
        if sort == "availability":  # no figure yet sorts last
            value = availability.get(spec.id)
            return (1.0 if value is None else 0.0, 0.0 if value is None else value, name)
        if sort == "incidents":
            return (-incidents.get(spec.id, 0), name)
        return (name, spec.id)

    return sorted(specs, key=key)


async def overview_page(
    session: AsyncSession,
    party: Party,
    now: datetime,
    *,
    sort: str = DEFAULT_SORT,
    q: str = "",
    page: int = 1,
    size: int | None = None,
) -> OverviewPage:
    """The operators the party sees matching ``q``, in ``sort`` order, cut to page ``page``
    (past the last page: the last one); the figures of the cards are computed for that page
    only. The sort keys are cheap for all (D253): open incidents counted from one list,
    availability from the UTC month's day rollups."""
    specs = [
        o
        for o in await registry_service.list_operators(session)
        if party.sees(o.id) and matches(o, q)
    ]
    availability: dict[str, float | None] = {}
    incidents: dict[str, int] = defaultdict(int)
    if sort == "availability":
        availability = await _month_availability(session, now)
    if sort == "incidents":
        for incident in await incident_service.list_for(
            session, party, operator_id=None, status=None, open_only=True
        ):
            if incident.operator_id is not None:
                incidents[incident.operator_id] += 1
    ordered = order(specs, sort, availability, incidents)
    size = size or PAGE_SIZE
    pages = max(1, -(-len(ordered) // size))
    page = min(page, pages)
    chosen = ordered[(page - 1) * size : page * size]
    rows = await overview(session, party, now, specs=chosen) if chosen else []
    first = (page - 1) * size + 1 if chosen else 0
    return OverviewPage(
        rows, len(ordered), page, pages, first, first + len(chosen) - 1 if chosen else 0
    )


async def _month_availability(session: AsyncSession, now: datetime) -> dict[str, float | None]:
    """Each operator's availability over its production probes since the UTC month began,
    from day buckets (rollups: one statement): the sort key only (D253)."""
    probes = [p for p in await probe_service.list_probes(session) if p.environment == "production"]
    days = await sla_service.probe_buckets(
        session, [p.id for p in probes], end=now, grain="day", count=now.day, percentiles=False
    )
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for probe in probes:
        for bucket in days[probe.id]:
            tallies[probe.operator_id][0] += bucket.probes
            tallies[probe.operator_id][1] += bucket.failures
    return {
        op: 100.0 * (total - failed) / total if total else None
        for op, (total, failed) in tallies.items()
    }


def merge_buckets(series: list[list[BucketRead]]) -> list[BucketRead]:
    """Buckets of several probes added up, bucket by bucket (latency: weighted average)."""
    merged: list[BucketRead] = []
    for column in zip(*series, strict=True):
        probes = sum(b.probes for b in column)
        failures = sum(b.failures for b in column)
        weighted = [(b.average_ms, b.probes - b.failures) for b in column if b.average_ms]
        total = sum(w for _, w in weighted)
        average = sum(a * w for a, w in weighted) / total if total else None
        merged.append(BucketRead(column[0].start, probes, failures, average, None, None))
    return merged


async def next_deadline(session: AsyncSession, party: Party, incident: IncidentRead) -> IncidentRow:
    detail: IncidentDetail = await incident_service.detail(
        session, await incident_service.visible(session, party, incident.id)
    )
    running = [c for c in detail.clocks if not (c.met_at or c.cancelled_at or c.breached_at)]
    first = min(running, key=lambda c: c.due_at, default=None)
    return IncidentRow(incident, first.clock if first else None, first.due_at if first else None)


async def overview(
    session: AsyncSession,
    party: Party,
    now: datetime,
    *,
    only: str | None = None,
    specs: list[OperatorSpec] | None = None,
) -> list[OperatorRow]:
    """Every operator the party sees (``only``: one of them; ``specs``: those, in that
    order, e.g. a page of the overview), with its probes, the last 24
    hours by hour and 90 days by day (production probes; staging ones for an operator
    not probed in production yet), month-to-date SLA figures, open
    incidents and the next maintenance."""
    if specs is not None:
        specs = [o for o in specs if party.sees(o.id)]
    elif only is None:
        specs = [o for o in await registry_service.list_operators(session) if party.sees(o.id)]
    else:  # one operator: not every operator's configuration validated to keep one
        specs = [await registry_service.get_operator(session, only)] if party.sees(only) else []
    rows = {o.id: OperatorRow(o) for o in specs}
    for probe in await probe_service.list_probes(session, operator_id=only):
        if probe.operator_id in rows:
            rows[probe.operator_id].probes.append(probe)
    charted = {r.spec.id: _charted(r) for r in rows.values()}
    ids = [pid for chosen in charted.values() for pid in chosen]
    hours = await sla_service.probe_buckets(
        session, ids, end=now, grain="hour", count=24, percentiles=False
    )
    days = await sla_service.probe_buckets(
        session, ids, end=now, grain="day", count=90, percentiles=False
    )
    for row in rows.values():
        mine = charted[row.spec.id]
        row.hours = merge_buckets([hours[i] for i in mine]) if mine else []
        row.days = merge_buckets([days[i] for i in mine]) if mine else []
    await _month_to_date(session, rows, now, only)
    await _incidents(session, party, rows, only)
    await _maintenance(session, party, rows, now, only)
    return list(rows.values())


def _charted(row: OperatorRow) -> list[int]:
    """The probes of the card's bars: production ones, or staging ones for an operator
    not yet probed in production (onboarding); sets ``row.bars_environment``."""
    for environment in ("production", "staging"):
        chosen = [p.id for p in row.probes if p.environment == environment]
        if chosen:
            row.bars_environment = environment
            return chosen
    return []


async def _month_to_date(
    session: AsyncSession, rows: dict[str, OperatorRow], now: datetime, only: str | None
) -> None:
    if not rows:
        return
    zones = {o: row.spec.timezone for o, row in rows.items()}
    report = await sla_service.report_all(
        session, now=now, operator_id=only, operator_ids=set(rows), zones=zones
    )
    tallies: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for item in report.statements:
        s = item.statement
        if s.operator_id not in rows:
            continue
        t = tallies[s.operator_id]
        t[0] += s.probes
        t[1] += s.failures
        if s.latency.average_ms is not None:
            t[2] += s.latency.average_ms * s.latency.samples
            t[3] += s.latency.samples
    for operator_id, (probes, failures, latency_sum, samples) in tallies.items():
        row = rows[operator_id]
        row.mtd_availability = 100.0 * (probes - failures) / probes if probes else None
        row.mtd_latency_ms = latency_sum / samples if samples else None


async def _incidents(
    session: AsyncSession, party: Party, rows: dict[str, OperatorRow], only: str | None
) -> None:
    found = await incident_service.list_for(
        session, party, operator_id=only, status=None, open_only=True
    )
    for incident in found:
        if incident.operator_id in rows:
            row = await next_deadline(session, party, incident)
            rows[incident.operator_id].incidents.append(row)


async def _maintenance(
    session: AsyncSession,
    party: Party,
    rows: dict[str, OperatorRow],
    now: datetime,
    only: str | None,
) -> None:
    notices = await notice_service.list_notices(
        session, party, operator_id=only, start=now, end=now + timedelta(days=90)
    )
    for notice in sorted(notices, key=lambda n: n.starts_at):
        row = rows.get(notice.operator_id)
        if row is not None and notice.cancelled_at is None and row.next_maintenance is None:
            row.next_maintenance = notice


@dataclass
class ServiceStatus:
    key: str
    name: str
    state: str  # operational | degraded | down
    days: list[tuple[datetime, str]]  # the last 90 UTC days, worst state of each


@dataclass
class PlatformStatus:
    services: list[ServiceStatus]
    incidents: list[IncidentDetail]
    maintenance: list[NoticeRead]
    updated: datetime


def affects(incident: IncidentRead, service: str) -> bool:
    """Whether a global incident is about a platform service: its evidence names it
    (``service``/``component``), or its title does; a platform outage or a global failure
    naming none affects them all."""
    named = {str(incident.evidence.get(k, "")).lower() for k in ("service", "component")}
    title = incident.title.lower()
    if service in named or service in title or PLATFORM_SERVICES[service].lower() in title:
        return True
    mentioned = any(k in title or k in named for k in PLATFORM_SERVICES)
    return incident.category in ("platform_outage", "global_failure") and not mentioned


def _state_of(incident: IncidentRead) -> str:
    return "down" if incident.outage else "degraded"


def _worst(a: str, b: str) -> str:
    order = ["operational", "degraded", "down"]
    return a if order.index(a) >= order.index(b) else b


async def platform_status(session: AsyncSession, now: datetime) -> PlatformStatus:
    """The platform's own services from its global incidents (open ones: the current
    state; the last 90 days: one bar per day), the open ones with their updates, and the
    announced platform maintenance."""
    found = await incident_service.list_for(
        session, PLATFORM_ADMIN, operator_id=None, status=None, open_only=False, limit=500
    )
    global_incidents = [i for i in found if i.operator_id is None]
    first_day = (now - timedelta(days=89)).replace(hour=0, minute=0, second=0, microsecond=0)
    services = []
    for key, name in PLATFORM_SERVICES.items():
        mine = [i for i in global_incidents if affects(i, key)]
        state = "operational"
        for i in mine:
            if i.resolved_at is None and i.closed_at is None:
                state = _worst(state, _state_of(i))
        days = [_day(first_day + timedelta(days=d), mine, now) for d in range(90)]
        services.append(ServiceStatus(key, name, state, days))
    open_ones = [i for i in global_incidents if i.resolved_at is None and i.closed_at is None]
    details = [
        await incident_service.detail(
            session, await incident_service.visible(session, PLATFORM_ADMIN, i.id)
        )
        for i in open_ones
    ]
    notices = await notice_service.list_notices(
        session, PLATFORM_ADMIN, start=now, end=now + timedelta(days=90)
    )
    seen: set[tuple[datetime, datetime, str]] = set()
    maintenance = []
    for n in sorted(notices, key=lambda n: n.starts_at):
        key3 = (n.starts_at, n.ends_at, n.impact)
        if n.side == "platform" and n.cancelled_at is None and key3 not in seen:
            seen.add(key3)
            maintenance.append(n)
    return PlatformStatus(services, details, maintenance, now)


def _day(day: datetime, incidents: list[IncidentRead], now: datetime) -> tuple[datetime, str]:
    end = day + timedelta(days=1)
    state = "operational"
    for i in incidents:
        stop = i.resolved_at or i.closed_at or now
        if i.detected_at < end and stop >= day:
            state = _worst(state, _state_of(i))
    return day, state
