"""Server-rendered charts (no JavaScript): bar charts, and lane charts of periods over time.

Each bar's width is a percent of the chart's width, so a bar (a small inline SVG) stretches to any
screen; its label and value are HTML text above it (``templatetags/charts.py``), which
wraps on a narrow screen instead of running off it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

BAR_HEIGHT = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    width_percent: str


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    bar_height: int = BAR_HEIGHT


def bar_chart(items: Iterable[tuple[str, Decimal, str]]) -> BarChart:
    """A horizontal bar per ``(label, value, value_text)``, the largest value filling the width."""
    items = list(items)
    largest = max((value for _, value, _ in items), default=Decimal(0))
    bars = []
    for label, value, value_text in items:
        share = (value / largest * 100) if largest else Decimal(0)
        if 0 < share < Decimal("0.5"):
            share = Decimal("0.5")  # a tiny amount still shows as a sliver, not as nothing
        bars.append(Bar(label, value_text, f"{share:.2f}%"))
    return BarChart(bars=bars)


# Lane charts: one horizontal lane per record, its periods drawn along a time axis (the
# agreements' statuses over time, templates/includes/lane_chart.html). Coordinates are in the
# SVG's viewBox units; the SVG scales to its container.
LANE_WIDTH = 1000
LANE_LABEL_HEIGHT = 18
LANE_BAR_HEIGHT = 16
LANE_GAP = 10
AXIS_HEIGHT = 24


@dataclass(frozen=True)
class Span:
    """A period of one lane: ``style`` picks its colour and pattern, ``label`` names it.

    The period began at some point between ``start`` and ``start_known`` (the end of the month
    or year a partial date names): that stretch is drawn hatched. ``end`` None: to date."""

    style: str
    label: str
    start: datetime.date
    start_known: datetime.date
    end: datetime.date | None


@dataclass(frozen=True)
class LaneRow:
    label: str
    url: str
    spans: list[Span]
    note: str = ""  # said at the lane's end, e.g. a status stated without a date


@dataclass(frozen=True)
class DrawnSpan:
    style: str
    label: str
    x: float
    width: float
    uncertain_width: float
    title: str

    @property
    def text_x(self) -> float:
        return round(self.x + 4, 1)

    @property
    def fits_label(self) -> bool:
        return self.width >= 7.5 * len(self.label) + 8


@dataclass(frozen=True)
class DrawnLane:
    label: str
    url: str
    note: str
    label_y: int
    bar_y: int
    spans: list[DrawnSpan]


@dataclass(frozen=True)
class LaneChart:
    lanes: list[DrawnLane]
    ticks: list[tuple[float, str]]
    width: int
    height: int
    axis_y: int
    bar_height: int = LANE_BAR_HEIGHT


def lane_chart(rows: Iterable[LaneRow], *, today: datetime.date) -> LaneChart | None:
    """Lanes on one time axis from 1 January of the earliest year any span starts in to
    ``today``; None when no lane has a span (nothing to draw: the table says it)."""
    rows = list(rows)
    starts = [span.start for row in rows for span in row.spans]
    if not starts:
        return None
    first = datetime.date(min(starts).year, 1, 1)
    days = max((today - first).days, 1)

    def x(day: datetime.date) -> float:
        return round(min(max((day - first).days, 0), days) / days * LANE_WIDTH, 1)

    lanes = []
    y = 0
    for row in rows:
        drawn = []
        for span in row.spans:
            left, right = x(span.start), x(span.end or today)
            known = min(x(span.start_known), right)
            end_text = f"to {span.end.isoformat()}" if span.end else "to date"
            drawn.append(
                DrawnSpan(
                    style=span.style,
                    label=span.label,
                    x=left,
                    width=round(max(right - left, 1.0), 1),
                    uncertain_width=round(max(known - left, 0.0), 1),
                    title=f"{span.label}: from {span.start.isoformat()} {end_text}",
                )
            )
        lanes.append(
            DrawnLane(row.label, row.url, row.note, y + LANE_LABEL_HEIGHT - 5, y + LANE_LABEL_HEIGHT, drawn)
        )
        y += LANE_LABEL_HEIGHT + LANE_BAR_HEIGHT + LANE_GAP
    step = 1 if today.year - first.year <= 12 else 5
    ticks = [
        (x(datetime.date(year, 1, 1)), str(year))
        for year in range(first.year, today.year + 1)
        if (year - first.year) % step == 0
    ]
    return LaneChart(lanes=lanes, ticks=ticks, width=LANE_WIDTH, height=y + AXIS_HEIGHT, axis_y=y)
