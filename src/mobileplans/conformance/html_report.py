"""One self-contained HTML page per report: inline CSS, inline SVG plots, no script, no
external resource, so it opens from disk anywhere."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1b1b1b}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass{color:#176b2c;font-weight:600}.fail{color:#b00020;font-weight:600}.skip{color:#7a5d00}
.verdict{font-size:1.3em;padding:.4em .8em;display:inline-block;border-radius:4px}
.verdict.pass{background:#e3f4e6}.verdict.fail{background:#fbe3e6}
details{margin:.2em 0}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em;font-size:12px}
svg{background:#fcfcfc;border:1px solid #ddd}small{color:#555}
"""


def _cell(value: Any) -> str:
    return f"<td>{escape(str(value))}</td>"


def _header(document: dict[str, Any], title: str) -> list[str]:
    verdict = document["verdict"]
    target = document["target"]
    rows = "".join(
        f"<tr><th>{escape(k)}</th>{_cell(v)}</tr>"
        for k, v in (
            ("operator", target.get("operator")),
            ("environment", target.get("environment")),
            ("MO API", target.get("mo_base_url")),
            ("portal", target.get("portal_url")),
            ("kit", document["kitVersion"]),
            ("started", document["startedAt"]),
            ("finished", document["finishedAt"]),
        )
    )
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="verdict {verdict}">{verdict.upper()}</p>',
        f"<table>{rows}</table>",
    ]


def _exchanges(case: dict[str, Any]) -> str:
    lines = []
    for e in case.get("exchanges", []):
        answer = e["error"] or f"HTTP {e['status']} {e['body'][:300]}"
        lines.append(f"{e['method']} {e['url']} ({e['identity']}, {e['ms']} ms)\n  → {answer}")
    for s in case.get("steps", []):
        lines.append(f"{s['outcome']:5} {s['step']}: {s['detail']}")
    if not lines:
        return ""
    body = escape("\n".join(lines))
    return f"<details><summary>{len(lines)} record(s)</summary><pre>{body}</pre></details>"


def _case_rows(cases: list[dict[str, Any]]) -> list[str]:
    rows = [
        "<table><tr><th>case</th><th>spec</th><th>mandatory</th><th>outcome</th>"
        "<th>detail</th></tr>"
    ]
    for case in cases:
        failures = "".join(
            f"<pre>sent: {escape(f['sent'])}\ngot: {escape(f['got'])}\n"
            f"expected: {escape(f['expected'])}</pre>"
            for f in case["failures"]
        )
        rows.append(
            f"<tr><td><b>{escape(case['id'])}</b><br><small>{escape(case['title'])}</small></td>"
            f"{_cell(case['spec'])}{_cell('yes' if case['mandatory'] else 'no')}"
            f'<td class="{case["outcome"]}">{case["outcome"]}</td>'
            f"<td>{escape(case['detail'])}{failures}{_exchanges(case)}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _axis_label(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="{anchor}">{escape(text)}</text>'
    )


def bar_chart(buckets: list[dict[str, Any]], *, width: int = 640, height: int = 220) -> str:
    """Latency histogram: ``[{"label", "count"}]`` as bars."""
    if not buckets:
        return "<p>no answered requests</p>"
    top = max(b["count"] for b in buckets) or 1
    left, bottom, plot_h = 40, height - 30, height - 50
    slot = (width - left - 10) / len(buckets)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="latency histogram">'
    ]
    for i, bucket in enumerate(buckets):
        h = plot_h * bucket["count"] / top
        x = left + i * slot
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{bottom - h:.1f}" width="{max(slot - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="#3b6ea8"><title>{escape(bucket["label"])}: '
            f"{bucket['count']}</title></rect>"
        )
        parts.append(_axis_label(x, bottom + 14, str(bucket.get("from", bucket["label"]))))
    parts.append(_axis_label(left - 4, 20, str(top), "end"))
    parts.append(_axis_label(left - 4, bottom, "0", "end"))
    parts.append(_axis_label(width - 10, 14, "requests per latency bucket (ms, from)", "end"))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    points: list[tuple[float, float]], *, limit: float | None, width: int = 640, height: int = 220
) -> str:
    """Time series (seconds, ms) as a polyline; ``limit`` as a dashed red line."""
    if not points:
        return "<p>no data</p>"
    max_x = max(p[0] for p in points) or 1.0
    max_y = max([p[1] for p in points] + ([limit * 1.1] if limit else [])) or 1.0
    left, bottom, plot_w, plot_h = 50, height - 30, width - 60, height - 50

    def xy(x: float, y: float) -> str:
        return f"{left + plot_w * x / max_x:.1f},{bottom - plot_h * y / max_y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="latency over time">',
        f'<polyline fill="none" stroke="#3b6ea8" stroke-width="1.5" '
        f'points="{" ".join(xy(x, y) for x, y in points)}"/>',
    ]
    if limit:
        y = bottom - plot_h * limit / max_y
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#b00020" stroke-dasharray="4 3"/>'
        )
        parts.append(_axis_label(left + plot_w, y - 4, f"{limit:g} ms", "end"))
    parts.append(_axis_label(left - 4, 20, f"{max_y:.0f} ms", "end"))
    parts.append(_axis_label(left - 4, bottom, "0", "end"))
    parts.append(_axis_label(left + plot_w, bottom + 14, f"{max_x:.0f} s", "end"))
    parts.append("</svg>")
    return "".join(parts)


def _load_section(document: dict[str, Any]) -> list[str]:
    figures = document["figures"]
    rows = "".join(f"<tr><th>{escape(k)}</th>{_cell(v)}</tr>" for k, v in figures.items())
    series = [(p["t"], p["avgMs"]) for p in document["timeSeries"] if p["avgMs"] is not None]
    return [
        "<h2>Figures</h2>",
        f"<table>{rows}</table>",
        "<h2>Latency histogram</h2>",
        bar_chart(document["histogram"]),
        "<h2>Average latency per interval</h2>",
        line_chart(series, limit=document["parameters"].get("latencySlaMs")),
    ]


def render_html(document: dict[str, Any]) -> str:
    is_load = document["kind"] == "conformance-load"
    title = "Load test (spec 4.2)" if is_load else "Conformance run"
    parts = _header(document, f"{title}: {document['target'].get('operator', '')}")
    if is_load:
        parts += _load_section(document)
        parts.append("<h2>Pass criteria</h2>")
    else:
        counts = document["counts"]
        parts.append(
            f"<p>{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped; "
            f"mandatory failures: {escape(', '.join(document['mandatoryFailures']) or 'none')}</p>"
        )
    parts += _case_rows(document["cases"])
    parts.append("</body></html>")
    return "\n".join(parts)
