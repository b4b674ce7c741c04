"""SLA reports as a text table, JSON, CSV or a self-contained HTML page (no outside files)."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Literal

import orjson

from mobileplans.domains.sla.schemas import SlaReport, SlaStatementBody

Format = Literal["table", "json", "csv", "html"]
MEDIA_TYPES: dict[str, str] = {
    "table": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
COLUMNS = (
    "operatorId",
    "environment",
    "kind",
    "period",
    "periodStart",
    "periodEnd",
    "timezone",
    "probes",
    "successes",
    "failures",
    "degraded",
    "excludedProbes",
    "availabilityPercent",
    "availabilityTarget",
    "latencyAverageMs",
    "latencyP50Ms",
    "latencyP95Ms",
    "latencyP99Ms",
    "latencyTargetMs",
    "latencyStatistic",
    "downtimeMinutes",
    "maintenanceMinutes",
    "budgetRemainingFailures",
    "budgetRemainingPercent",
    "availabilityVerdict",
    "latencyVerdict",
    "verdict",
    "periodStatus",
)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e6 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def row_of(s: SlaStatementBody) -> list[str]:
    values: list[object] = [
        s.operator_id,
        s.environment,
        s.kind,
        s.period.label,
        s.period.start.isoformat(),
        s.period.end.isoformat(),
        s.period.timezone,
        s.probes,
        s.successes,
        s.failures,
        s.degraded,
        s.excluded_probes,
        s.availability_percent,
        s.contract.availability_target,
        s.latency.average_ms,
        s.latency.p50_ms,
        s.latency.p95_ms,
        s.latency.p99_ms,
        s.contract.latency_target_ms,
        s.contract.latency_statistic,
        s.downtime_minutes,
        s.maintenance_minutes,
        s.error_budget.remaining_failures,
        s.error_budget.remaining_percent,
        s.verdict.availability,
        s.verdict.latency,
        s.verdict.overall,
        s.period.status,
    ]
    return [_fmt(v) for v in values]


def to_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in report.statements:
        writer.writerow(row_of(item.statement))
    return out.getvalue()


HTML_COLUMNS = (
    ("operator", 0),
    ("env", 1),
    ("kind", 2),
    ("period", 3),
    ("probes", 7),
    ("avail %", 12),
    ("target", 13),
    ("avg ms", 14),
    ("p95 ms", 16),
    ("p99 ms", 17),
    ("down min", 20),
    ("budget %", 23),
    ("verdict", 26),
)


TABLE_COLUMNS = (
    ("operator", 0),
    ("kind", 2),
    ("probes", 7),
    ("avail %", 12),
    ("avg ms", 14),
    ("p99 ms", 17),
    ("down min", 20),
    ("budget %", 23),
    ("verdict", 26),
)
"""The text table fits 80 columns (CI logs): environment, periods and targets are told in
the lines around it; CSV, JSON and HTML carry every figure."""


def to_table(report: SlaReport) -> str:
    rows = [[row_of(i.statement)[index] for _, index in TABLE_COLUMNS] for i in report.statements]
    header = [name for name, _ in TABLE_COLUMNS]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = [f"SLA statements, {report.environment}"]
    lines.append(" ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    lines.append(" ".join("-" * w for w in widths))
    lines += [" ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if not rows:
        lines.append("(no probes)")
    lines += _terms(report)
    lines += [f"{label}: {status}" for label, status in period_statuses(report)]
    return "\n".join(lines) + "\n"


def _terms(report: SlaReport) -> list[str]:
    """One line per operator: its period (in its zone) and its contract's targets."""
    seen: dict[str, str] = {}
    for item in report.statements:
        s = item.statement
        p, c = s.period, s.contract
        seen.setdefault(
            s.operator_id,
            f"{s.operator_id}: period {p.label} ({p.timezone}), targets "
            f"{_fmt(c.availability_target)} % and {_fmt(c.latency_target_ms)} ms "
            f"{c.latency_statistic}",
        )
    return list(seen.values())


def period_statuses(report: SlaReport) -> list[tuple[str, str]]:
    """``(period, status)`` of each period in progress, e.g. ``("2026-12 (UTC)", "in
    progress, generated at 2026-12-05 17:50:00 UTC")``: shown in every format."""
    periods = [report.period] if report.period else [i.statement.period for i in report.statements]
    seen: dict[str, str] = {}
    for period in periods:
        if period.in_progress:
            seen.setdefault(f"{period.label} ({period.timezone})", period.status)
    return list(seen.items())


def to_json(report: SlaReport) -> str:
    return orjson.dumps(
        report.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2
    ).decode()


STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:.35rem .6rem;border:1px solid #ccc;
text-align:right}th{background:#f3f3f3}td.l{text-align:left}.met{color:#0a6b2b;font-weight:600}
.missed{color:#b00020;font-weight:600}.no_data{color:#777}caption{text-align:left;margin:.5rem 0}"""


def _html_row(s: SlaStatementBody) -> str:
    cells = row_of(s)
    text = [escape(cells[i]) for _, i in HTML_COLUMNS]
    verdict = s.verdict.overall
    tds = [f'<td class="l">{c}</td>' for c in text[:4]] + [f"<td>{c}</td>" for c in text[4:-1]]
    tds.append(f'<td class="{verdict}">{escape(verdict)}</td>')
    return "<tr>" + "".join(tds) + "</tr>"


def to_html(report: SlaReport) -> str:
    title = f"SLA report {report.operator_id or 'all operators'} ({report.environment})"
    period = report.period
    caption = (
        f"{escape(period.label)}: {escape(period.start.isoformat())} to "
        f"{escape(period.end.isoformat())} ({escape(period.timezone)})"
        if period
        else "each operator's period in its own time zone"
    )
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in HTML_COLUMNS)
    body = "".join(_html_row(i.statement) for i in report.statements)
    statuses = "".join(
        f"<p><strong>{escape(label)}: {escape(status)}</strong></p>"
        for label, status in period_statuses(report)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><table><caption>{caption}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"{statuses}<p>Availability counts probes outside announced maintenance; latency is "
        "over successful probes; percentiles are histogram bucket upper bounds "
        "(at most 2.19 % high).</p>"
        "</body></html>\n"
    )


def render(report: SlaReport, fmt: Format) -> str:
    return {"table": to_table, "json": to_json, "csv": to_csv, "html": to_html}[fmt](report)
