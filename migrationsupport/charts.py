"""Bars of the server-rendered bar charts (no JavaScript).

Each bar's width is a percent of the chart's width, so a bar (a small inline SVG) stretches to any
screen; its label and value are HTML text above it (templates/includes/bar_chart.html), which
wraps on a narrow screen instead of running off it.
"""

from __future__ import annotations

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
