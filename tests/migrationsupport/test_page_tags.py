"""Template helpers that write markup in Python: the bytes their templates wrote."""

from __future__ import annotations

import datetime

import pytest
from django.template import engines
from django.utils.html import format_html

from agreements.models import Agreement, Document, DocumentKind
from migrationsupport.footnotes import Footnotes
from migrationsupport.templatetags.pages import time_tag
from migrationsupport.values import DatePrecision, PartialDate
from tests.factories import AgreementEventFactory, AgreementFactory, CountryFactory

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


#: What includes/agreement_item.html was (removed on 4 December 2026), rendered by Django.
AGREEMENT_ITEM = (
    '{% load pages %}<li><a href="{{ agreement.get_absolute_url }}">{{ agreement.title }}</a>'
    "{% for party in agreement.published_parties %}{{ party|note_ref:notes }}{% endfor %} "
    '<span class="status">{{ agreement.current_status_label }}</span>'
    "{% with date=agreement.latest_event_date %}{% if date %} "
    '<span class="meta">{{ date|time_tag }}</span>{% endif %}{% endwith %}</li>\n'
)


@pytest.mark.django_db
@pytest.mark.parametrize("dated", [True, False])
def test_agreement_item_writes_what_its_template_wrote(dated):
    noted = CountryFactory(name="Noted & Co", cooperation_note="<p>Cooperation suspended.</p>")
    plain = CountryFactory()
    agreement = AgreementFactory(title='The "A & B" <arrangement>')
    agreement.parties.set([noted, plain])
    if dated:
        AgreementEventFactory(agreement=agreement)
    django = engines["django"]
    lists = []
    for template in ("{% load pages %}{% agreement_item agreement %}", AGREEMENT_ITEM):
        shown = Agreement.objects.for_public().get(pk=agreement.pk)
        notes = Footnotes()
        lists.append((django.from_string(template).render({"agreement": shown, "notes": notes}), notes.used))
    (written, notes_written), (expected, notes_expected) = lists
    assert written == expected
    assert 'class="note-ref"' in written
    assert ("<time" in written) is dated
    assert [note.references for note in notes_written] == [note.references for note in notes_expected]
