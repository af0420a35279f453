"""Geometry of the server-rendered bar charts (inline SVG, no JavaScript).

Bars are sized in percent of the chart's width, so the SVG stretches to any screen while its
text keeps its size; each bar has its label and its value written out above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ROW_HEIGHT = 58
LABEL_BASELINE = 16
VALUE_BASELINE = 34
BAR_TOP = 40
BAR_HEIGHT = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    width_percent: str
    top: int

    @property
    def label_y(self) -> int:
        return self.top + LABEL_BASELINE

    @property
    def value_y(self) -> int:
        return self.top + VALUE_BASELINE

    @property
    def bar_y(self) -> int:
        return self.top + BAR_TOP


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    height: int
    bar_height: int = BAR_HEIGHT


def bar_chart(items: Iterable[tuple[str, Decimal, str]]) -> BarChart:
    """A horizontal bar per ``(label, value, value_text)``, the largest value filling the width."""
    items = list(items)
    largest = max((value for _, value, _ in items), default=Decimal(0))
    bars = []
    for index, (label, value, value_text) in enumerate(items):
        share = (value / largest * 100) if largest else Decimal(0)
        if 0 < share < Decimal("0.5"):
            share = Decimal("0.5")  # a tiny amount still shows as a sliver, not as nothing
        bars.append(Bar(label, value_text, f"{share:.2f}%", index * ROW_HEIGHT))
    return BarChart(bars=bars, height=max(len(bars) * ROW_HEIGHT, ROW_HEIGHT))
