"""The bar chart tag writes the bytes its template (includes/bar_chart.html) wrote."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.template import engines
from django.utils import translation
from django.utils.html import format_html

from migrationsupport.charts import bar_chart

#: templates/includes/bar_chart.html before 4 December 2026 (evening).
BAR_CHART = (Path(__file__).parents[1] / "removed_templates" / "bar_chart.html").read_text()


@pytest.mark.parametrize(
    "items",
    [
        [
            ("South & <East>", Decimal("1234567.5"), "€1.2 million"),
            (format_html("<abbr>{}</abbr>", "EU"), Decimal(3), 'about "€3"'),
            ("Nothing", Decimal(0), "€0"),
            ("A sliver", Decimal("0.001"), "€0.001"),
        ],
        [],
    ],
)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_bar_chart_writes_what_its_template_wrote(items, language):
    django = engines["django"]
    context = {"chart": bar_chart(items), "chart_id": 'chart-<1>"', "chart_title": "Pledged & paid"}
    tag = django.from_string("{% load charts %}{% bar_chart chart chart_id chart_title %}")
    with translation.override(language):  # the bars' sizes stay SVG numbers in any locale
        written = tag.render(context)
        assert written == django.from_string(BAR_CHART).render(context)
    if items:
        assert "South &amp; &lt;East&gt;" in written and "<abbr>EU</abbr>" in written
        assert 'width="100.00%"' in written and 'width="0.50%"' in written
