"""Template helpers that write markup in Python: the bytes their templates wrote."""

from __future__ import annotations

import datetime

import pytest
from django.template import engines
from django.utils.html import format_html

from agreements.models import Document, DocumentKind
from migrationsupport.templatetags.pages import time_tag
from migrationsupport.values import DatePrecision, PartialDate

#: What includes/document_item.html was (removed on 4 December 2026), rendered by Django.
DOCUMENT_ITEM = (
    '{% load pages %}<li><a href="{{ document.get_absolute_url }}">{{ document.title }}</a> '
    '<span class="meta">{{ document.get_kind_display }}{% if document.date_display %}, '
    "{{ document.date_display|time_tag }}{% endif %}</span></li>\n"
)


@pytest.mark.parametrize(
    ("title", "date", "precision"),
    [
        ('Tom & "Jerry" <b>plan</b>', datetime.date(2016, 3, 1), DatePrecision.MONTH),
        ("Undated", None, DatePrecision.DAY),
        ("A day", datetime.date(2023, 10, 18), DatePrecision.DAY),
        ("A year", datetime.date(2021, 1, 1), DatePrecision.YEAR),
    ],
)
def test_document_item_writes_what_its_template_wrote(title, date, precision):
    document = Document(
        title=title, slug="a-slug", kind=DocumentKind.JOINT_COMMUNICATION, date=date, date_precision=precision
    )
    django = engines["django"]
    written = django.from_string("{% load pages %}{% document_item document %}").render(
        {"document": document}
    )
    assert written == django.from_string(DOCUMENT_ITEM).render({"document": document})
    assert written.endswith("</li>\n")


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
