"""The bar chart tag: a figure of labelled bars, each a small SVG sized in percent."""

from __future__ import annotations

from decimal import Decimal

import lxml.html
import pytest
from django.template import engines
from django.utils import translation
from django.utils.html import format_html

from migrationsupport.charts import BAR_HEIGHT, bar_chart

ITEMS = [
    ("South & <East>", Decimal("1234567.5"), "€1.2 million"),
    (format_html("<abbr>{}</abbr>", "EU"), Decimal(3), 'about "€3"'),
    ("Nothing", Decimal(0), "€0"),
    ("A sliver", Decimal("0.001"), "€0.001"),
    ("Half", Decimal("617283.75"), "€0.6 million"),
]


def render(items, language="en") -> str:
    context = {"chart": bar_chart(items), "chart_id": 'chart-<1>"', "chart_title": "Pledged & paid"}
    tag = engines["django"].from_string("{% load charts %}{% bar_chart chart chart_id chart_title %}")
    with translation.override(language):
        return tag.render(context)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_item_is_a_labelled_bar_sized_in_percent_of_the_largest(language):
    written = render(ITEMS, language)
    figure = lxml.html.fragment_fromstring(written)
    assert figure.tag == "figure"
    caption = figure.find("figcaption")
    assert caption.text == "Pledged & paid"
    assert figure.get("aria-labelledby") == caption.get("id") == 'chart-<1>"-title'
    bars = figure.findall("ul/li")
    assert [bar.find_class("chart-label")[0].text_content() for bar in bars] == [
        "South & <East>",
        "EU",
        "Nothing",
        "A sliver",
        "Half",
    ]
    assert bars[1].find_class("chart-label")[0].find("abbr").text == "EU"  # safe HTML kept
    assert [bar.find_class("chart-value")[0].text for bar in bars] == [
        "€1.2 million",
        'about "€3"',
        "€0",
        "€0.001",
        "€0.6 million",
    ]
    for bar in bars:
        svg = bar.find("svg")
        assert svg.get("class") == "chart-bar-svg" and svg.get("aria-hidden") == "true"
        assert svg.get("width") == "100%" and svg.get("height") == str(BAR_HEIGHT)
        track, filled = svg.findall("rect")
        assert track.get("width") == track.get("height") == filled.get("height") == "100%"
    # SVG numbers in any locale (no decimal comma), a tiny amount still a sliver.
    assert [bar.find("svg").findall("rect")[1].get("width") for bar in bars] == [
        "100.00%",
        "0.50%",
        "0.00%",
        "0.50%",
        "50.00%",
    ]


def test_text_is_escaped():
    written = render(ITEMS)
    assert "South &amp; &lt;East&gt;" in written and "<East>" not in written
    assert "<abbr>EU</abbr>" in written


def test_an_empty_chart_has_no_bars():
    figure = lxml.html.fragment_fromstring(render([]))
    assert figure.findall("ul/li") == []
