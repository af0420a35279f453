"""Template helpers that write markup in Python: the bytes their templates wrote."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Engine, engines
from django.utils.html import format_html

from agreements.lifecycle import EventKind
from agreements.models import Agreement, AgreementEvent, Document, DocumentKind
from funding.models import FundingRecord
from migrationsupport.footnotes import Footnotes
from migrationsupport.site.digests import FundingNode
from migrationsupport.templatetags.pages import time_tag
from migrationsupport.values import DatePrecision, PartialDate
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    SourceFactory,
)

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


#: What includes/funding_node.html was (removed on 4 December 2026), kept here to compare with.
FUNDING_NODE = (Path(__file__).parent / "removed_templates" / "funding_node.html").read_text()


def old_templates() -> Engine:
    """Django's engine with the removed template, and includes/source.html as it is."""
    source = (Path(settings.BASE_DIR) / "templates/includes/source.html").read_text()
    return Engine(
        loaders=[
            (
                "django.template.loaders.locmem.Loader",
                {"includes/funding_node.html": FUNDING_NODE, "includes/source.html": source},
            )
        ],
        libraries={
            "pages": "migrationsupport.templatetags.pages",
            "records": "migrationsupport.templatetags.records",
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize("passage", [None, "The <passage> & its quote"])
def test_funding_node_writes_what_its_template_wrote(passage):
    source = SourceFactory(title="A & B's report", url="https://example.org/?a=1&b=2")
    whole = FundingRecordFactory(
        title='Whole <"programme">',
        implementer="Frontex & co",
        instrument=InstrumentFactory(name="NDICI <Global Europe>"),
        description="<p>Money for <strong>this</strong> &amp; that.</p>",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision=DatePrecision.YEAR,
        period_end=datetime.date(2027, 1, 1),
        period_end_precision=DatePrecision.YEAR,
        source=source,
    )
    part = FundingRecordFactory(title="Part without an amount", amount=None, parent=whole, source=source)
    grandpart = FundingRecordFactory(
        title="Grandpart", parent=part, amount=Decimal("12.5"), qualifier="about"
    )
    alone = FundingRecordFactory(title="Alone", description="<p>Said.</p>")
    tree = [
        FundingNode(whole, [FundingNode(part, [FundingNode(grandpart)], show_description=False)]),
        FundingNode(alone, show_description=False),
    ]
    old = old_templates().get_template("includes/funding_node.html")
    new = engines["django"].from_string("{% load pages %}{% funding_node node %}")
    for node in tree:
        context = {"node": node, "passage": passage}
        written = new.render(context)
        assert written == old.render(Context(context))
    assert "no amount stated" in new.render({"node": tree[0]})
    assert ("passage this figure comes from" in written) is bool(passage)


#: The steps' loop of agreements/agreement_timeline.html before 4 December 2026.
TIMELINE_EVENTS = (Path(__file__).parent / "removed_templates" / "timeline_event.html").read_text()


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
        "{% load pages %}{% for event in events %}{% timeline_event event %}{% endfor %}"
    )
    assert written.render(context) == django.from_string(TIMELINE_EVENTS).render(context)
    assert "&lt;conditions&gt;" in written.render(context)


#: The records' loop of funding/fundingrecord_list.html before 4 December 2026.
EXPLORER_ROWS = (Path(__file__).parent / "removed_templates" / "explorer_row.html").read_text()


@pytest.mark.django_db
def test_explorer_row_writes_what_the_explorer_wrote():
    source = SourceFactory(
        title="A long & <odd> report title of many words", url="https://example.org/?a=1&b=2"
    )
    whole = FundingRecordFactory(
        title='Whole <"programme">',
        instrument=InstrumentFactory(name="NDICI <Global Europe>"),
        regions=[RegionFactory(name="South & East"), RegionFactory(name="North")],
        period_start=datetime.date(2021, 1, 1),
        period_start_precision=DatePrecision.YEAR,
        source=source,
        source_passage='"Quoted" <passage> & more',
    )
    FundingRecordFactory(title="Part, no amount", amount=None, parent=whole, source=source)
    records = list(FundingRecord.objects.for_public().order_by("pk"))
    django = engines["django"]
    context = {"object_list": records}
    written = django.from_string(
        "{% load pages %}{% for record in object_list %}{% explorer_row record %}{% endfor %}"
    ).render(context)
    assert written == django.from_string(EXPLORER_ROWS).render(context)
    assert "Passage</summary>" in written
    assert "Not stated" in written
