"""Plots as inline SVG strings: no plotting library, no scripts, nothing fetched.

Each function takes plain numbers and returns one <svg> element, sized by a viewBox so
it scales with the page. Text is escaped; colours come from one palette per series.
"""

from __future__ import annotations

import math
from html import escape
from typing import NamedTuple

import numpy as np

from parity.publish import numbers

PALETTE = ("#d1492e", "#f08a5d", "#8c2d19", "#1f6fb4", "#5aa9e6", "#0b3c6e", "#3a9b5c", "#8e6bbf")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _legend_entry(x: float, top: float, index: int, colour: str, label: str) -> list[str]:
    """A colour swatch and its label, the index-th line of a legend right of the plot."""
    y = top + 16 * index + 6
    return [
        f'<rect x="{x + 12}" y="{y - 8}" width="12" height="12" fill="{colour}"/>',
        f'<text x="{x + 30}" y="{y + 2}" {FONT}>{escape(label)}</text>',
    ]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [round(math.floor(low / step) * step, 10)]
    while ticks[-1] < high - step * 1e-9:  # the last tick reaches the top of the range
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _frame(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="plot">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _x_axis(ticks, scale, y: float, top: float, label: str, width: int) -> list[str]:
    parts = [
        f'<line x1="{scale(ticks[0]):.1f}" x2="{scale(ticks[-1]):.1f}" y1="{y}" y2="{y}" '
        'stroke="#444"/>'
    ]
    for tick in ticks:
        x = scale(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{y}" stroke="#e3e3e3"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle" {FONT}>'
            f"{numbers.tick(tick)}</text>"
        )
    parts.append(
        f'<text x="{width / 2:.0f}" y="{y + 34}" text-anchor="middle" {FONT}>{escape(label)}</text>'
    )
    return parts


def distribution(rows: list[tuple[str, list[float]]], title: str, unit: str) -> str:
    """One row per series: box (quartiles), median, whiskers (min-max) and the samples."""
    rows = [(label, np.asarray(values, dtype=float)) for label, values in rows if len(values)]
    if not rows:
        return ""
    left, right, row_h, top = 190, 20, 34, 28
    width = 760
    height = top + row_h * len(rows) + 46
    low = min(float(v.min()) for _, v in rows)
    high = max(float(v.max()) for _, v in rows)
    ticks = nice_ticks(max(0.0, low - 0.05 * (high - low)), high)
    span = (ticks[-1] - ticks[0]) or 1.0

    def scale(value: float) -> float:
        return left + (value - ticks[0]) / span * (width - left - right)

    axis_y = top + row_h * len(rows) + 4
    body = [f'<text x="{left}" y="16" {FONT} font-weight="600">{escape(title)}</text>']
    body += _x_axis(ticks, scale, axis_y, top - 6, unit, width)
    rng = np.random.default_rng(0)
    for index, (label, values) in enumerate(rows):
        colour = PALETTE[index % len(PALETTE)]
        middle = top + row_h * index + row_h / 2
        q25, median, q75 = np.percentile(values, [25, 50, 75])
        shown = values if values.size <= 400 else rng.choice(values, 400, replace=False)
        jitter = rng.uniform(-7, 7, shown.size)
        body.append(
            f'<text x="{left - 8}" y="{middle + 4:.1f}" text-anchor="end" {FONT}>'
            f"{escape(label)}</text>"
        )
        body.append(
            f'<line x1="{scale(values.min()):.1f}" x2="{scale(values.max()):.1f}" '
            f'y1="{middle:.1f}" y2="{middle:.1f}" stroke="{colour}"/>'
        )
        body += [
            f'<circle cx="{scale(v):.1f}" cy="{middle + j:.1f}" r="1.6" fill="{colour}" '
            'fill-opacity="0.35"/>'
            for v, j in zip(shown, jitter, strict=True)
        ]
        body.append(
            f'<rect x="{scale(q25):.1f}" y="{middle - 9:.1f}" '
            f'width="{max(scale(q75) - scale(q25), 1):.1f}" height="18" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        body.append(
            f'<line x1="{scale(median):.1f}" x2="{scale(median):.1f}" '
            f'y1="{middle - 11:.1f}" y2="{middle + 11:.1f}" stroke="#111" stroke-width="2">'
            f"<title>median {median:.3f} {escape(unit)}</title></line>"
        )
    return _frame(width, height, body, title)


def lines(
    series: dict[str, list[tuple[float, float]]], title: str, x_label: str, y_label: str
) -> str:
    """Line chart with a log2 x axis (batch sizes) and a linear y axis from zero."""
    series = {k: sorted(v) for k, v in series.items() if v}
    if not series:
        return ""
    left, right, top, bottom, width, height = 60, 190, 28, 46, 760, 300
    xs = sorted({x for points in series.values() for x, _ in points})
    y_ticks = nice_ticks(0.0, max(y for points in series.values() for _, y in points))
    lo, hi = math.log2(xs[0]), math.log2(xs[-1])

    def sx(x: float) -> float:
        return left + (0.5 if hi == lo else (math.log2(x) - lo) / (hi - lo)) * (
            width - left - right
        )

    def sy(y: float) -> float:
        return top + (1 - y / y_ticks[-1]) * (height - top - bottom)

    body = [f'<text x="{left}" y="16" {FONT} font-weight="600">{escape(title)}</text>']
    base = height - bottom
    for tick in y_ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(tick):.1f}" '
            f'y2="{sy(tick):.1f}" stroke="#e3e3e3"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end" {FONT}>'
            f"{numbers.tick(tick)}</text>"
        )
    for x in xs:
        body.append(
            f'<text x="{sx(x):.1f}" y="{base + 16}" text-anchor="middle" {FONT}>'
            f"{numbers.tick(x)}</text>"
        )
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="#444"/>')
    body.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{base + 34}" '
        f'text-anchor="middle" {FONT}>{escape(x_label)}</text>'
    )
    body.append(
        f'<text x="14" y="{(top + base) / 2:.0f}" text-anchor="middle" {FONT} '
        f'transform="rotate(-90 14 {(top + base) / 2:.0f})">{escape(y_label)}</text>'
    )
    for index, (label, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body += [
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(label)}: batch {numbers.tick(x)}, {y:.1f}</title></circle>"
            for x, y in points
        ]
        body += _legend_entry(width - right, top, index, colour, label)
    return _frame(width, height, body, title)


def bars(
    categories: list[str], series: dict[str, list[float | None]], title: str, unit: str
) -> str:
    """Horizontal grouped bars: one group per category, one bar per series."""
    if not categories:
        return ""
    left, right, top, bar_h, gap, width = 190, 20, 28, 12, 10, 760
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(categories) + 60
    values = [v for vals in series.values() for v in vals if v is not None]
    ticks = nice_ticks(0.0, max(values) if values else 1.0)

    def scale(value: float) -> float:
        return left + value / ticks[-1] * (width - left - right)

    axis_y = top + group_h * len(categories)
    body = [f'<text x="{left}" y="16" {FONT} font-weight="600">{escape(title)}</text>']
    body += _x_axis(ticks, scale, axis_y, top - 6, unit, width)
    for c_index, category in enumerate(categories):
        group_top = top + group_h * c_index
        body.append(
            f'<text x="{left - 8}" y="{group_top + group_h / 2:.1f}" text-anchor="end" '
            f"{FONT}>{escape(category)}</text>"
        )
        for s_index, (name, vals) in enumerate(series.items()):
            value = vals[c_index]
            if value is None:
                continue
            y = group_top + s_index * bar_h
            body.append(
                f'<rect x="{left}" y="{y:.1f}" width="{scale(value) - left:.1f}" '
                f'height="{bar_h - 2}" fill="{PALETTE[s_index * 3 % len(PALETTE)]}">'
                f"<title>{escape(category)}, {escape(name)}: {value:,.0f} {escape(unit)}"
                "</title></rect>"
            )
    legend = "".join(
        f'<rect x="{left + 170 * i}" y="{height - 16}" width="12" height="12" '
        f'fill="{PALETTE[i * 3 % len(PALETTE)]}"/><text x="{left + 170 * i + 18}" '
        f'y="{height - 6}" {FONT}>{escape(name)}</text>'
        for i, name in enumerate(series)
    )
    return _frame(width, height, body + [legend], title)


def log_curve(
    series: dict[str, list[float | None]],
    x_labels: list[str],
    title: str,
    y_label: str,
    threshold: float | None = None,
) -> str:
    """Values per position (layers in forward order) on a log10 y axis; None is a gap, and a
    zero is drawn at the floor (marked in its tooltip). A dashed line marks `threshold`."""
    positive = [v for vals in series.values() for v in vals if v is not None and v > 0]
    if not x_labels or not positive:
        return ""
    left, right, top, bottom, width, height = 64, 190, 28, 90, 760, 340
    limits = [*positive, *([threshold] if threshold else [])]
    # One decade below the smallest value: the floor (where zeros are drawn) stays apart.
    lo, hi = math.floor(math.log10(min(limits))) - 1, math.ceil(math.log10(max(limits)))
    hi = hi if hi > lo else lo + 1
    count = len(x_labels)

    def sx(index: int) -> float:
        return left + (0.5 if count == 1 else index / (count - 1)) * (width - left - right)

    def sy(value: float) -> float:
        exponent = math.log10(value) if value > 0 else lo
        return top + (1 - (exponent - lo) / (hi - lo)) * (height - top - bottom)

    base = height - bottom
    body = [f'<text x="{left}" y="16" {FONT} font-weight="600">{escape(title)}</text>']
    step = max(1, math.ceil((hi - lo) / 8))
    for exponent in range(lo, hi + 1, step):
        y = sy(10.0**exponent)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>1e{exponent}</text>'
        )
    label_every = max(1, math.ceil(count / 16))
    for index in range(0, count, label_every):
        x, y = sx(index), base + 14
        body.append(
            f'<text x="{x:.1f}" y="{y}" text-anchor="end" {FONT} '
            f'transform="rotate(-35 {x:.1f} {y})">{escape(x_labels[index])}</text>'
        )
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="#444"/>')
    body.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 8}" text-anchor="middle" '
        f"{FONT}>layer, in forward order</text>"
    )
    body.append(
        f'<text x="14" y="{(top + base) / 2:.0f}" text-anchor="middle" {FONT} '
        f'transform="rotate(-90 14 {(top + base) / 2:.0f})">{escape(y_label)}</text>'
    )
    if threshold:
        y = sy(threshold)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#444" '
            f'stroke-dasharray="5,4"><title>tolerance {threshold:g}</title></line>'
        )
    for s_index, (name, values) in enumerate(series.items()):
        colour = PALETTE[s_index * 3 % len(PALETTE)]
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        path = " ".join(f"{sx(i):.1f},{sy(v):.1f}" for i, v in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body += [
            f'<circle cx="{sx(i):.1f}" cy="{sy(v):.1f}" r="2.5" fill="{colour}">'
            f"<title>{escape(x_labels[i])}, {escape(name)}: "
            f"{'0 (drawn at the floor)' if v == 0 else f'{v:.3g}'}</title></circle>"
            for i, v in points
        ]
        body += _legend_entry(width - right, top, s_index, colour, name)
    return _frame(width, height, body, title)


class ForestPoint(NamedTuple):
    """One comparison: a ratio with its interval (None where there is none), how it was
    judged (a parity.publish.headline status), and the text shown on hover."""

    label: str
    ratio: float
    low: float | None
    high: float | None
    status: str
    detail: str


# Marks by status: colour, fill, and the legend's words. Faster points take the colour of
# the faster side (PyTorch's reds, TensorFlow's blues, as in the other plots).
_FOREST_LEGEND = (  # (status, a ratio that draws it, words)
    ("faster", 0.5, "PyTorch faster: interval wholly below the tie band"),
    ("faster", 2.0, "TensorFlow faster: interval wholly above the tie band"),
    ("tie", 1.0, "tie: interval inside the shaded tie band"),
    ("inconclusive", 1.0, "inconclusive: interval overlaps the band"),
    ("contended", 1.0, "no verdict: machine busy (contended rounds)"),
    ("not replicated", 1.0, "no verdict: one process per side (dashed interval)"),
)
_LOG_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 3, 4, 5, 10)


def _forest_mark(x: float, y: float, status: str, ratio: float) -> str:
    if status == "faster":
        colour = PALETTE[0] if ratio < 1 else PALETTE[3]
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>'
    if status == "tie":
        return (
            f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="#555" '
            f'transform="rotate(45 {x:.1f} {y:.1f})"/>'
        )
    if status == "inconclusive":
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="#555" stroke-width="2"/>'
        )
    if status == "contended":
        return (
            f'<path d="M{x - 5:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 5:.1f} M{x - 5:.1f},'
            f'{y + 5:.1f} L{x + 5:.1f},{y - 5:.1f}" stroke="#b00020" stroke-width="2.5"/>'
        )
    return (  # not replicated
        f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" fill="#fff" '
        'stroke="#999" stroke-width="1.5"/>'
    )


def forest(points: list[ForestPoint], title: str, subtitle: str, tie_margin: float) -> str:
    """Every comparison's PyTorch/TensorFlow ratio with its interval on a log axis, the tie
    band shaded; the mark says how it was judged (see _FOREST_LEGEND)."""
    points = [p for p in points if p.ratio and p.ratio > 0]
    if not points:
        return ""
    left, right, top, row_h, width = 260, 20, 52, 22, 760
    band = (1 / (1 + tie_margin), 1 + tie_margin)
    values = [v for p in points for v in (p.ratio, p.low, p.high) if v and v > 0] + list(band)
    lo, hi = math.log(min(values)) - 0.05, math.log(max(values)) + 0.05

    def sx(value: float) -> float:
        return left + (math.log(value) - lo) / (hi - lo) * (width - left - right)

    axis_y = top + row_h * len(points) + 4
    height = axis_y + 52 + 16 * len(_FOREST_LEGEND)
    body = [
        f'<text x="10" y="16" {FONT} font-weight="600">{escape(title)}</text>',
        f'<text x="10" y="34" {FONT}>{escape(subtitle)}</text>',
        f'<rect x="{sx(band[0]):.1f}" y="{top - 6}" width="{sx(band[1]) - sx(band[0]):.1f}" '
        f'height="{axis_y - top + 6}" fill="#e6e6e6"><title>tie band: within '
        f"{tie_margin:.0%} of 1</title></rect>",
        f'<line x1="{sx(1.0):.1f}" x2="{sx(1.0):.1f}" y1="{top - 6}" y2="{axis_y}" stroke="#888"/>',
        f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" stroke="#444"/>',
    ]
    for tick in _LOG_TICKS:
        if lo <= math.log(tick) <= hi:
            body.append(
                f'<text x="{sx(tick):.1f}" y="{axis_y + 16}" text-anchor="middle" {FONT}>'
                f"{tick:g}</text>"
            )
    body.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{axis_y + 34}" text-anchor="middle" '
        f"{FONT}>← PyTorch faster · PyTorch/TensorFlow latency ratio (log scale) · "
        "TensorFlow faster →</text>"
    )
    for index, point in enumerate(points):
        y = top + row_h * index + row_h / 2
        body.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{escape(point.label)}</text>"
        )
        if point.low and point.high:
            dash = ' stroke-dasharray="3,3"' if point.status == "not replicated" else ""
            body.append(
                f'<line x1="{sx(point.low):.1f}" x2="{sx(point.high):.1f}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="#333" stroke-width="1.5"{dash}/>'
            )
        body.append(
            f"<g><title>{escape(point.detail)}</title>"
            f"{_forest_mark(sx(point.ratio), y, point.status, point.ratio)}</g>"
        )
    for index, (status, ratio, words) in enumerate(_FOREST_LEGEND):
        y = axis_y + 56 + 16 * index
        body.append(_forest_mark(left + 6, y - 4, status, ratio))
        body.append(f'<text x="{left + 18}" y="{y}" {FONT}>{escape(words)}</text>')
    return _frame(width, height, body, title)
