"""Core template helpers that write markup in Python (the apps' row writers are tested with
their apps: tests/agreements/test_agreement_rows.py, tests/funding/test_funding_rows.py,
tests/site/test_digest_rows.py)."""

from __future__ import annotations

import datetime

import pytest
from django.utils.html import format_html

from migrationsupport.templatetags.pages import link_or_dash, source_cell, source_line, time_tag
from migrationsupport.values import DatePrecision, PartialDate
from tests.factories import SourceFactory


@pytest.mark.parametrize(
    "value",
    [
        PartialDate(datetime.date(2016, 3, 1), DatePrecision.MONTH),
        PartialDate(datetime.date(2016, 3, 9), DatePrecision.DAY),
        PartialDate(datetime.date(2016, 1, 1), DatePrecision.YEAR),
    ],
)
def test_time_tag_is_format_htmls(value):
    assert time_tag(value) == format_html('<time datetime="{}">{}</time>', value.isoformat(), str(value))
    assert time_tag(None) == ""


@pytest.mark.django_db
def test_source_helpers_escape_and_dash_without_a_source():
    source = SourceFactory(title='A "long" & <odd> report of many words', url="https://example.org/?a=1&b=2")
    assert source_line(None, "passage") == ""
    assert source_cell(None, "passage") == "–"
    assert link_or_dash(None, "text") == "–"
    line = source_line(source, "<q>uoted")
    assert 'href="https://example.org/?a=1&amp;b=2"' in line
    assert "&lt;odd&gt;" in line and "<q>&lt;q&gt;uoted</q>" in line
    assert source_cell(source, "").endswith("report …</a>")
