"""Charts as inline SVG, drawn on the server: no script, no third-party asset, readable by
screen readers.

Pure functions of the numbers to draw, returning ``Markup`` (every text is escaped here).
Each chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` it is labelled by; the page
puts the same numbers in a table below, which is what a screen reader or a copy-paste uses.
Every bar or point carries its numbers as ``data-*`` attributes, so tests can read the chart
back and compare it with the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

WIDTH = 720
HEIGHT = 300
MARGIN_LEFT = 84  # room for the y-axis labels ("120,000")
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 56  # month labels and the legend
# Distinguishable in colour and in grey (print): blue, orange, green, purple, grey.
PALETTE = ("#0b5cad", "#d97706", "#0f6b3a", "#7c3aed", "#4f5965")


@dataclass(frozen=True, slots=True)
class Series:
    """One named series: a value per category (month), in the categories' order."""

    key: str  # machine name, carried as data-series (e.g. the engagement kind)
    label: str
    values: Sequence[Decimal]


def _a(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: Decimal) -> str:
    return f"{value:,.0f}"


def _nice_ceiling(value: Decimal) -> Decimal:
    """1, 2 or 5 times a power of ten at or above ``value``: round gridlines."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop's last step always holds


def _frame(chart_id: str, title: str, description: str, body: list[str]) -> Markup:
    head = (
        f'<svg id="{_a(chart_id)}" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{_a(chart_id)}-title {_a(chart_id)}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{_a(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{_a(chart_id)}-desc">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text above is escaped


def _axis(top: Decimal, bottom: Decimal, y_of: Callable[[Decimal], float]) -> list[str]:
    """Gridlines and labels at five steps between ``bottom`` and ``top``."""
    parts = []
    for i in range(5):
        value = bottom + (top - bottom) * Decimal(i) / Decimal(4)
        y = y_of(value)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#1b1f24" if value == 0 else "#d5dae0"}" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4f5965">'
            f"{_number(value)}</text>"
        )
    return parts


def stacked_bars(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
) -> Markup:
    """Bars per category (month), each stacked by series; negative values (more credited than
    invoiced) stack below the zero line."""
    ups = [
        sum((max(s.values[i], Decimal(0)) for s in series), Decimal(0))
        for i in range(len(categories))
    ]
    downs = [
        sum((min(s.values[i], Decimal(0)) for s in series), Decimal(0))
        for i in range(len(categories))
    ]
    top = _nice_ceiling(max(ups, default=Decimal(0)))
    bottom = -_nice_ceiling(-min(downs)) if downs and min(downs) < 0 else Decimal(0)
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    span = top - bottom

    def y_of(value: Decimal) -> float:
        return MARGIN_TOP + float((top - value) / span) * plot_h

    body = _axis(top, bottom, y_of)
    slot = plot_w / max(len(categories), 1)
    bar_w = min(slot * 0.6, 64)
    for i, category in enumerate(categories):
        x = MARGIN_LEFT + slot * i + (slot - bar_w) / 2
        up, down = Decimal(0), Decimal(0)
        for n, s in enumerate(series):
            value = s.values[i]
            if value == 0:
                continue
            if value > 0:
                y0, y1 = y_of(up + value), y_of(up)
                up += value
            else:
                y0, y1 = y_of(down), y_of(down + value)
                down += value
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                f'height="{max(y1 - y0, 0.5):.1f}" fill="{PALETTE[n % len(PALETTE)]}" '
                f'data-category="{_a(category)}" data-series="{_a(s.key)}" data-value="{value}">'
                f"<title>{escape(category)}, {escape(s.label)}: {_number(value)}</title></rect>"
            )
        body.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle" fill="#1b1f24">{escape(category)}</text>'
        )
    legend_x = float(MARGIN_LEFT)
    for n, s in enumerate(series):
        body.append(
            f'<rect x="{legend_x:.1f}" y="{HEIGHT - 22}" width="12" height="12" '
            f'fill="{PALETTE[n % len(PALETTE)]}"/>'
            f'<text x="{legend_x + 16:.1f}" y="{HEIGHT - 12}" fill="#1b1f24">'
            f"{escape(s.label)}</text>"
        )
        legend_x += 24 + 7.5 * len(s.label)
    return _frame(chart_id, title, description, body)


def step_line(
    *,
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[tuple[str, Decimal]],
) -> Markup:
    """A step chart: the value holds through each category until the next one (a balance at
    the end of each month)."""
    values = [v for _, v in points]
    top = _nice_ceiling(max(values, default=Decimal(0)))
    bottom = -_nice_ceiling(-min(values)) if values and min(values) < 0 else Decimal(0)
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    span = top - bottom

    def y_of(value: Decimal) -> float:
        return MARGIN_TOP + float((top - value) / span) * plot_h

    body = _axis(top, bottom, y_of)
    slot = plot_w / max(len(points), 1)
    path: list[str] = []
    for i, (label, value) in enumerate(points):
        x0, x1, y = MARGIN_LEFT + slot * i, MARGIN_LEFT + slot * (i + 1), y_of(value)
        path.append(f"{'M' if i == 0 else 'L'}{x0:.1f},{y:.1f} L{x1:.1f},{y:.1f}")
        body.append(
            f'<circle class="point" cx="{x0 + slot / 2:.1f}" cy="{y:.1f}" r="4" fill="#0b5cad" '
            f'data-category="{_a(label)}" data-value="{value}">'
            f"<title>{escape(label)}: {_number(value)}</title></circle>"
            f'<text x="{x0 + slot / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle" fill="#1b1f24">{escape(label)}</text>'
        )
    if path:
        body.insert(
            len(body) - len(points),
            f'<path d="{" ".join(path)}" fill="none" stroke="#0b5cad" stroke-width="2.5"/>',
        )
    return _frame(chart_id, title, description, body)
