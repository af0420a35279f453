"""Charts written in Python: a chart of a few hundred bars (the explorer's totals by region at
100 000 records) took ~15–25 ms of template variables; written here they take a fraction.

Labels and values are HTML text, so they wrap on a narrow screen; each bar is a small SVG sized
in percent (no inline style: the CSP forbids it). The table beside the chart gives the same
figures. The bars' sizes are SVG numbers, never localised."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..charts import BarChart, DrawnLane, LaneChart
from ..markup import conditional_escape

register = template.Library()


@register.simple_tag
def bar_chart(chart: BarChart, chart_id: str, title: str) -> SafeString:
    """A ``charts.BarChart`` as a figure of bars, titled ``title`` (its id: ``chart_id``-title)."""
    # Each bar in few bytes (the explorer has hundreds): the track and the bar are the SVG's
    # first and second rect, coloured by the stylesheet; an SVG inside HTML needs no namespace,
    # and x and y default to 0. Its width is written, so it spans its item even unstyled.
    svg = f'<svg class="chart-bar-svg" width="100%" height="{int(chart.bar_height)}" aria-hidden="true">'
    bars = "".join(
        f'\n    <li><span class="chart-label">{conditional_escape(bar.label)}</span> '
        f'<span class="chart-value">{conditional_escape(bar.value_text)}</span>\n'
        f'      {svg}<rect width="100%" height="100%"/>'
        f'<rect width="{conditional_escape(bar.width_percent)}" height="100%"/></svg></li>'
        for bar in chart.bars
    )
    chart_id = conditional_escape(chart_id)
    return mark_safe(  # noqa: S308 (every value above is escaped)
        f'<figure class="chart" aria-labelledby="{chart_id}-title">\n'
        f'  <figcaption id="{chart_id}-title" class="chart-title">{conditional_escape(title)}</figcaption>\n'
        f'  <ul class="chart-bars">{bars}\n  </ul>\n</figure>\n'
    )


@register.simple_tag
def lane_chart_marks(chart: LaneChart, chart_id: str) -> SafeString:
    """The axis' years and the lanes of ``includes/lane_chart.html`` (a ``charts.LaneChart``;
    ``chart_id`` names its patterns): what the template's two loops wrote, byte for byte
    (``tests/agreements/test_lanes.py``, against the removed loops). Coordinates are
    written as ``str`` writes them, as the template did with ``localize off``."""
    chart_id = conditional_escape(chart_id)
    label_y = chart.height - 6
    ticks = "".join(
        f'<line x1="{x}" y1="0" x2="{x}" y2="{chart.axis_y}" class="lane-tick"/>'
        f'<text x="{x}" y="{label_y}" class="lane-axis-label">{conditional_escape(year)}</text>'
        for x, year in chart.ticks
    )
    lanes = "".join(_lane(lane, chart, chart_id) for lane in chart.lanes)
    return mark_safe(f"{ticks}\n  {lanes}")  # noqa: S308 (every value escaped)


def _lane(lane: DrawnLane, chart: LaneChart, chart_id: str) -> str:
    """One lane (``<g>``) of ``lane_chart_marks``: its label, baseline, spans and note."""
    height, bar_y = chart.bar_height, lane.bar_y
    spans = []
    for span in lane.spans:
        style = conditional_escape(span.style)
        at = f'x="{span.x}" y="{bar_y}"'
        marks = [
            f'<rect {at} width="{span.width}" height="{height}" class="lane-span lane-{style}">'
            f"<title>{conditional_escape(span.title)}</title></rect>"
        ]
        if span.style != "applied":
            marks.append(
                f'<rect {at} width="{span.width}" height="{height}" fill="url(#{chart_id}-{style})"/>'
            )
        if span.uncertain_width:
            marks.append(
                f'<rect {at} width="{span.uncertain_width}" height="{height}" '
                f'fill="url(#{chart_id}-uncertain)" class="lane-uncertain"/>'
            )
        if span.fits_label:
            marks.append(
                f'<text x="{span.text_x}" y="{bar_y + 12}" class="lane-span-label">'
                f"{conditional_escape(span.label)}</text>"
            )
        spans.append("".join(marks) + "\n    ")
    note = (
        f'<text x="0" y="{bar_y + 12}" class="lane-note">{conditional_escape(lane.note)}</text>'
        if lane.note
        else ""
    )
    return (
        f'<g class="lane">\n    <text x="0" y="{lane.label_y}" class="lane-label">'
        f"{conditional_escape(lane.label)}</text>\n"
        f'    <line x1="0" y1="{bar_y + 8}" x2="{chart.width}" y2="{bar_y + 8}" class="lane-baseline"/>\n'
        f"    {''.join(spans)}{note}\n  </g>"
    )
