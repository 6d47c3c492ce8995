"""Geometry of the insights charts, for SVG drawn by a template. Pure: numbers in, shapes out.

Hand-drawn rather than a charting library: two simple charts, and drawn this way they
follow the strict CSP (no script, no inline style: colours come from classes in app.css)
and the app's look. Every chart has a data table beside it on the page for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # the CSS class suffix: clicked, booked, links, declined
    value: int
    title: str  # the tooltip: what the bar shows, in words


@dataclass(frozen=True)
class Tick:
    position: float  # y for the value axis, x for the label axis
    text: str


@dataclass(frozen=True)
class DayChart:
    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_labels: list[Tick]


@dataclass(frozen=True)
class FunnelRow:
    label: str
    value: int
    share: str  # of the links created: "42%"
    bar: Bar
    text_y: float


@dataclass(frozen=True)
class FunnelChart:
    width: int
    height: int
    label_width: float
    rows: list[FunnelRow]


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten that is >= value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def day_chart(days: Sequence[tuple[str, int, int]], *, height: int = 220) -> DayChart:
    """Clicked and booked links per day, two bars a day. `days`: (label, clicked, booked)."""
    count = max(len(days), 1)
    slot = max(8.0, min(40.0, 720 / count))
    left, right, top, bottom = 36.0, 8.0, 12.0, 28.0
    width = int(left + right + slot * count)
    plot_height = height - top - bottom
    ceiling = nice_ceiling(max([max(c, b) for _, c, b in days] or [0]))
    scale = plot_height / ceiling
    bars: list[Bar] = []
    bar_width = max(2.0, slot * 0.36)
    for index, (label, clicked, booked) in enumerate(days):
        x = left + index * slot + (slot - 2 * bar_width) / 2
        for offset, (kind, value) in enumerate((("clicked", clicked), ("booked", booked))):
            bar_height = value * scale
            bars.append(
                Bar(
                    x=round(x + offset * bar_width, 2),
                    y=round(top + plot_height - bar_height, 2),
                    width=round(bar_width, 2),
                    height=round(bar_height, 2),
                    kind=kind,
                    value=value,
                    title=f"{label}: {value} {kind}",
                )
            )
    steps = 5 if ceiling % 5 == 0 else min(ceiling, 4)  # ticks on whole, even steps
    y_ticks = [
        Tick(round(top + plot_height - plot_height * n / steps, 2), f"{ceiling * n // steps:,}")
        for n in range(steps + 1)
    ]
    every = max(1, math.ceil(count / 8))  # at most about eight day labels
    x_labels = [
        Tick(round(left + index * slot + slot / 2, 2), label)
        for index, (label, _, _) in enumerate(days)
        if index % every == 0
    ]
    return DayChart(
        width, height, top, top + plot_height, left, width - right, bars, y_ticks, x_labels
    )


def funnel_chart(stages: Sequence[tuple[str, int, str]], *, width: int = 360) -> FunnelChart:
    """Horizontal bars, one per stage, as long as its share of the first stage.
    `stages`: (label, value, kind)."""
    label_width, row_height, gap, top = 96.0, 26.0, 12.0, 4.0
    value_room = 72.0  # the count and share, right of the longest bar
    first = stages[0][1] if stages else 0
    room = width - label_width - value_room
    rows = []
    for index, (label, value, kind) in enumerate(stages):
        share = value / first if first else 0.0
        y = top + index * (row_height + gap)
        length = max(room * share, 2.0 if value else 0.0)
        percent = f"{round(share * 100)}%" if first else "–"
        rows.append(
            FunnelRow(
                label=label,
                value=value,
                share=percent,
                bar=Bar(
                    label_width,
                    y,
                    round(length, 2),
                    row_height,
                    kind,
                    value,
                    f"{label}: {value:,} ({percent})",
                ),
                text_y=round(y + row_height / 2 + 4, 2),
            )
        )
    height = int(top * 2 + len(stages) * (row_height + gap) - gap) if stages else 0
    return FunnelChart(width, height, label_width, rows)
