"""``agreement_rows``: the lines of agreements, key documents and the timeline's steps write
the bytes their (removed) templates wrote."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.template import engines

from agreements.lifecycle import EventKind
from agreements.models import Agreement, AgreementEvent, Document, DocumentKind
from agreements.selectors import agreements_with_timeline, documents_latest_first
from migrationsupport.footnotes import Footnotes
from migrationsupport.values import DatePrecision
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    RegionFactory,
)

REMOVED = Path(__file__).resolve().parent.parent / "removed_templates"

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
    written = django.from_string("{% load agreement_rows %}{% document_item document %}").render(
        {"document": document}
    )
    assert written == django.from_string(DOCUMENT_ITEM).render({"document": document})
    assert written.endswith("</li>\n")


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
    for template in ("{% load agreement_rows %}{% agreement_item agreement %}", AGREEMENT_ITEM):
        shown = Agreement.objects.for_public().get(pk=agreement.pk)
        notes = Footnotes()
        lists.append((django.from_string(template).render({"agreement": shown, "notes": notes}), notes.used))
    (written, notes_written), (expected, notes_expected) = lists
    assert written == expected
    assert 'class="note-ref"' in written
    assert ("<time" in written) is dated
    assert [note.references for note in notes_written] == [note.references for note in notes_expected]


#: The steps' loop of agreements/agreement_timeline.html before 4 December 2026.
TIMELINE_EVENTS = (REMOVED / "timeline_event.html").read_text()


@pytest.mark.django_db
@pytest.mark.parametrize("passage", [None, "A <quoted> passage"])
def test_timeline_event_writes_what_the_timeline_wrote(passage):
    agreement = AgreementFactory(title='The "A & B" <arrangement>')
    AgreementEventFactory(agreement=agreement, description="with <conditions> & more")
    AgreementEventFactory(
        agreement=agreement,
        kind=EventKind.ENTERED_INTO_FORCE,
        date=datetime.date(2023, 10, 18),
        date_precision="day",
    )
    events = list(AgreementEvent.objects.for_public().filter(agreement=agreement).order_by("pk"))
    django = engines["django"]
    context = {"events": events, "passage": passage}
    written = django.from_string(
        "{% load agreement_rows %}{% for event in events %}{% timeline_event event %}{% endfor %}"
    )
    assert written.render(context) == django.from_string(TIMELINE_EVENTS).render(context)
    assert "&lt;conditions&gt;" in written.render(context)


#: The rows' loop of includes/agreement_table.html before 6 December 2026 (fourth session).
AGREEMENT_TABLE_ROWS = (REMOVED / "agreement_table_rows.html").read_text().removesuffix("\n")


@pytest.mark.django_db
def test_agreement_row_writes_what_the_table_s_loop_wrote():
    noted = CountryFactory(name="Noted & Co", cooperation_note="<p>Cooperation suspended.</p>")
    plain = CountryFactory(name='"Plain" <country>')
    with_parties = AgreementFactory(title='The "A & B" <arrangement>')
    with_parties.parties.set([noted, plain])
    AgreementEventFactory(agreement=with_parties)
    AgreementEventFactory(
        agreement=with_parties,
        kind=EventKind.ENTERED_INTO_FORCE,
        date=datetime.date(2023, 10, 18),
        date_precision="day",
    )
    # A region, no party, no step.
    regional = AgreementFactory(title="Regional arrangement", region=RegionFactory(name="Region & co"))
    neither = AgreementFactory(title="No partner named", region=None)
    django = engines["django"]
    pages = []
    for template in (
        "{% load agreement_rows %}{% for agreement in agreements %}{% agreement_row agreement %}{% endfor %}",
        AGREEMENT_TABLE_ROWS,
    ):
        agreements = list(
            agreements_with_timeline()
            .filter(pk__in=[a.pk for a in (with_parties, regional, neither)])
            .order_by("pk")
        )
        notes = Footnotes()
        pages.append(
            (django.from_string(template).render({"agreements": agreements, "notes": notes}), notes.used)
        )
    (written, notes_written), (expected, notes_expected) = pages
    assert written == expected
    assert written.count("<tr>") == 3
    assert 'class="note-ref"' in written
    assert "Entered into force, <time" in written  # the latest step, not the first
    assert "Region &amp; co</a>" in written
    assert "–</td>" in written
    assert [note.references for note in notes_written] == [note.references for note in notes_expected]


#: The rows' loop of includes/document_table.html before 6 December 2026 (fourth session).
DOCUMENT_TABLE_ROWS = (REMOVED / "document_table_rows.html").read_text().removesuffix("\n")


@pytest.mark.django_db
def test_document_row_writes_what_the_table_s_loop_wrote():
    full = DocumentFactory(
        title='The "A & B" <pact>',
        author="Council & <Parliament>",
        date=datetime.date(2016, 3, 1),
        date_precision=DatePrecision.MONTH,
    )
    full.regions.set([RegionFactory(name="First & co"), RegionFactory(name="Second")])
    bare = DocumentFactory(title="Undated", author="", date=None)
    django = engines["django"]
    written, expected = (
        django.from_string(template).render(
            {"documents": list(documents_latest_first().filter(pk__in=[full.pk, bare.pk]).order_by("pk"))}
        )
        for template in (
            "{% load agreement_rows %}{% for document in documents %}{% document_row document %}{% endfor %}",
            DOCUMENT_TABLE_ROWS,
        )
    )
    assert written == expected
    assert written.count("<tr>") == 2
    assert "First &amp; co</a>, <a" in written
    assert "Council &amp; &lt;Parliament&gt;" in written
    assert written.count('<td data-label="Date">–</td>') == 1
