"""Server-rendered SVG charts (readable without JavaScript): a title, axes with units and
the SLA threshold drawn in. Colours come from CSS classes (the page's light/dark theme);
no inline style, so the strict Content-Security-Policy holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 150
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 22, 24


@dataclass(frozen=True)
class Bar:
    start: datetime
    value: float | None  # availability in percent; None: no measurement
    label: str


def _frame(
    title: str, y_labels: Sequence[tuple[float, str]], x_labels: Sequence[tuple[float, str]]
) -> list[str]:
    parts = [f"<title>{escape(title)}</title>"]
    parts.append(f'<text class="chart-title" x="{LEFT}" y="14">{escape(title)}</text>')
    bottom = HEIGHT - BOTTOM
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>')
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>'
    )
    for y, text in y_labels:
        parts.append(
            f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{escape(text)}</text>"
        )
    for x, text in x_labels:
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{escape(text)}</text>"
        )
    return parts


def _svg(parts: list[str], label: str) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 - every text above is escaped
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def bar_class(value: float | None, target: float) -> str:
    if value is None:
        return "bar none"
    if value >= target:
        return "bar ok"
    return "bar warn" if value >= 99.0 else "bar bad"


def availability_bars(
    title: str, bars: Sequence[Bar], *, target: float, floor: float = 95.0, first: str, last: str
) -> Markup:
    """One bar per bucket, its height the availability between ``floor`` % and 100 %
    (a bucket without results is a grey stub), and the SLA target as a dashed line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = HEIGHT - BOTTOM

    def y_of(value: float) -> float:
        return bottom - plot_h * (max(floor, min(100.0, value)) - floor) / (100.0 - floor)

    parts = _frame(
        title,
        [(y_of(100.0), "100 %"), (y_of(floor), f"{floor:g} %")],
        [(LEFT + 12, first), (WIDTH - RIGHT - 12, last)],
    )
    slot = plot_w / max(1, len(bars))
    for i, bar in enumerate(bars):
        x = LEFT + i * slot + 1
        top = y_of(bar.value) if bar.value is not None else bottom - 3
        height = max(bottom - top, 2.0)
        value = "no results" if bar.value is None else f"{bar.value:.3f} %"
        parts.append(
            f'<rect class="{bar_class(bar.value, target)}" x="{x:.1f}" y="{bottom - height:.1f}" '
            f'width="{max(slot - 2, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(bar.label)}: {value}</title></rect>"
        )
    y = y_of(target)
    parts.append(
        f'<line class="threshold" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
    )
    parts.append(
        f'<text class="threshold-label" x="{WIDTH - RIGHT}" y="{y - 3:.1f}" '
        f'text-anchor="end">SLA {target:g} %</text>'
    )
    return _svg(parts, f"{title}; SLA {target:g} %")


def latency_lines(
    title: str,
    points: Sequence[tuple[datetime, float | None, float | None]],
    *,
    threshold_ms: float,
    first: str,
    last: str,
    point_format: str = "%d %b %H:00",
) -> Markup:
    """p50 and p99 latency (ms) per bucket as two lines, with the SLA latency line
    (``point_format``: the bucket's start in each point's tooltip)."""
    values = [v for _, a, b in points for v in (a, b) if v is not None]
    top_ms = max([threshold_ms * 1.25, *values])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = HEIGHT - BOTTOM

    def y_of(ms: float) -> float:
        return bottom - plot_h * min(ms, top_ms) / top_ms

    parts = _frame(
        title,
        [(y_of(top_ms), f"{top_ms:.0f} ms"), (y_of(0), "0 ms")],
        [(LEFT + 12, first), (WIDTH - RIGHT - 12, last)],
    )
    step = plot_w / max(1, len(points) - 1)
    for index, name in ((1, "p50"), (2, "p99")):
        coords = [
            f"{LEFT + i * step:.1f},{y_of(p[index]):.1f}"  # type: ignore[arg-type]
            for i, p in enumerate(points)
            if p[index] is not None
        ]
        if coords:
            parts.append(f'<polyline class="line {name}" points="{" ".join(coords)}"/>')
        for i, p in enumerate(points):  # a marker per bucket: one bucket alone makes no line
            if p[index] is not None:
                parts.append(
                    f'<circle class="point {name}" cx="{LEFT + i * step:.1f}" '
                    f'cy="{y_of(p[index]):.1f}" r="2.5"><title>{p[0]:{point_format}} UTC {name}: '  # type: ignore[arg-type]
                    f"{p[index]:.0f} ms</title></circle>"
                )
    y = y_of(threshold_ms)
    parts.append(
        f'<line class="threshold" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
    )
    parts.append(
        f'<text class="threshold-label" x="{WIDTH - RIGHT}" y="{y - 3:.1f}" '
        f'text-anchor="end">SLA {threshold_ms:g} ms</text>'
    )
    parts.append(f'<text class="legend p50" x="{LEFT + 4}" y="{TOP + 10}">p50</text>')
    parts.append(f'<text class="legend p99" x="{LEFT + 34}" y="{TOP + 10}">p99</text>')
    return _svg(parts, f"{title}; SLA {threshold_ms:g} ms")


def status_bars(title: str, days: Sequence[tuple[datetime, str]]) -> Markup:
    """One bar per day coloured by the worst state of the day (operational/degraded/down)."""
    width, height = WIDTH, 44
    slot = (width - 2) / max(1, len(days))
    parts = [f"<title>{escape(title)}</title>"]
    for i, (day, state) in enumerate(days):
        parts.append(
            f'<rect class="day {state}" x="{1 + i * slot:.1f}" y="2" '
            f'width="{max(slot - 1, 1):.1f}" height="28">'
            f"<title>{day:%Y-%m-%d}: {state}</title></rect>"
        )
    parts.append(f'<text class="tick" x="1" y="42">{escape(f"{days[0][0]:%d %b}")}</text>')
    parts.append(f'<text class="tick" x="{width - 1}" y="42" text-anchor="end">today</text>')
    return Markup(  # noqa: S704 - every text is escaped
        f'<svg class="chart days" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
